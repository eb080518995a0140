/**
 * A one-line text field's content and cursor, and the editing keys of a shell prompt: left,
 * right, Home/Ctrl-A, End/Ctrl-E, Backspace, Delete, Ctrl-U (to the start), Ctrl-W (the word
 * before the cursor). Pure, so the inputs of the dashboard share it and tests call it directly.
 */

/** The text and the cursor's position in it (0 = before the first character). */
export interface LineEdit {
  text: string;
  cursor: number;
}

/** A field holding `text` with the cursor at its end. */
export function lineEdit(text = ''): LineEdit {
  return { text, cursor: text.length };
}

/** `text` typed at the cursor. */
export function insertText(edit: LineEdit, text: string): LineEdit {
  return { text: edit.text.slice(0, edit.cursor) + text + edit.text.slice(edit.cursor), cursor: edit.cursor + text.length };
}

/** The field after the editing key `keyName` (a key name of keymap.ts); unchanged for other keys. */
export function applyEditKey(edit: LineEdit, keyName: string): LineEdit {
  const { text, cursor } = edit;
  switch (keyName) {
    case 'left':
      return { text, cursor: Math.max(0, cursor - 1) };
    case 'right':
      return { text, cursor: Math.min(text.length, cursor + 1) };
    case 'home':
    case 'ctrl+a':
      return { text, cursor: 0 };
    case 'end':
    case 'ctrl+e':
      return { text, cursor: text.length };
    case 'backspace':
      return cursor === 0 ? edit : { text: text.slice(0, cursor - 1) + text.slice(cursor), cursor: cursor - 1 };
    case 'delete':
      return { text: text.slice(0, cursor) + text.slice(cursor + 1), cursor };
    case 'ctrl+u':
      return { text: text.slice(cursor), cursor: 0 };
    case 'ctrl+w': {
      // Like a shell: spaces before the cursor, then the word before them.
      const before = text.slice(0, cursor).replace(/\S*\s*$/, '');
      return { text: before + text.slice(cursor), cursor: before.length };
    }
    default:
      return edit;
  }
}
