/** The question asked before a backend is removed. */
import { Text } from 'ink';

/** The backend about to be removed. */
export interface ConfirmRemoveProps {
  name: string;
  url: string;
  inFlight: number;
}

/** One line naming the backend; y removes it (in-flight requests still finish), n keeps it. */
export function ConfirmRemove({ name, url, inFlight }: ConfirmRemoveProps) {
  const label = url.endsWith(`//${name}`) ? url : `${name} (${url})`;
  return (
    <Text wrap="truncate-end" color="yellow" bold>
      {`remove ${label}? ${inFlight} in flight will finish first. y = remove, n = keep`}
    </Text>
  );
}
