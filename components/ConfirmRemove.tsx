/** The question asked before a backend is removed. */
import { Text } from 'ink';
import { useTint } from './palette.js';

/** The backend about to be removed. */
export interface ConfirmRemoveProps {
  name: string;
  url: string;
  inFlight: number;
}

/** One line naming the backend; y removes it (in-flight requests still finish), n keeps it. */
export function ConfirmRemove({ name, url, inFlight }: ConfirmRemoveProps) {
  const tint = useTint();
  const label = url.endsWith(`//${name}`) ? url : `${name} (${url})`;
  return (
    <Text wrap="truncate-end" color={tint('yellow')} bold>
      {`remove ${label}? ${inFlight} in flight will finish first. y = remove, n = keep`}
    </Text>
  );
}
