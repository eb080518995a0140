/** Text broken into lines of a given width, between words where it can be, keeping its own line breaks. */

/**
 * `text` as lines of at most `width` characters: its own newlines kept (with their leading
 * indent), breaks between words, and only a word wider than a whole line cut.
 */
export function wrapText(text: string, width: number): string[] {
  const max = Math.max(1, width);
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    const indent = /^\s*/.exec(paragraph)![0].slice(0, Math.floor(max / 2));
    let line = indent;
    for (let word of paragraph.trimStart().split(' ')) {
      while (line.length + word.length > max && word.length > max - indent.length) {
        if (line.trim() !== '') lines.push(line);
        const cut = max - indent.length;
        lines.push(indent + word.slice(0, cut));
        word = word.slice(cut);
        line = indent;
      }
      if (line.trim() === '') line = indent + word;
      else if (line.length + 1 + word.length <= max) line += ` ${word}`;
      else {
        lines.push(line);
        line = indent + word;
      }
    }
    lines.push(line);
  }
  return lines;
}
