/** The dashboard's layout: title, header and chart, backend table, event and log panes, status and help lines. */
import { Box, Text, useApp } from 'ink';
import { AddBackendInput, errorLines } from './AddBackendInput.js';
import { BackendTable } from './BackendTable.js';
import { ConfirmRemove } from './ConfirmRemove.js';
import { EventPane } from './EventPane.js';
import { Header } from './Header.js';
import { headerSegments, packSegments } from './header-lines.js';
import { HelpLine } from './HelpLine.js';
import { HelpOverlay } from './HelpOverlay.js';
import { useDashboard } from './hooks/use-dashboard.js';
import { useSnapshot } from './hooks/use-snapshot.js';
import { useTerminalSize } from './hooks/use-terminal-size.js';
import { useWindowRates } from './hooks/use-window-rates.js';
import { planLayout } from './layout.js';
import { LogPane } from './LogPane.js';
import { movingAverage } from './sparkline.js';
import { StatusLine } from './StatusLine.js';
import type { DashboardControl, LogStore, SnapshotStore } from './store.js';

/** Everything the dashboard reads and calls. */
export interface AppProps {
  store: SnapshotStore;
  control: DashboardControl;
  /** Source of the `l` pane; without one the pane says so. */
  logs?: LogStore;
  /** Lines shown above the header (the demo explains itself there). */
  title?: readonly string[];
}

/** Lays out the widgets so that the frame is always shorter than the terminal and never wider. */
export function App({ store, control, logs, title = [] }: AppProps) {
  const snapshot = useSnapshot(store);
  const { columns, rows } = useTerminalSize();
  const { exit } = useApp();
  const ui = useDashboard(store.getSnapshot, control, () => exit());
  const { mode, pool } = ui;
  const rates = useWindowRates(snapshot);
  const header = packSegments(headerSegments(snapshot, pool, ui.poolIndex, rates), columns);
  const width = columns;
  if (mode.kind === 'help') {
    return (
      <Box flexDirection="column" width={width}>
        <Header lines={header} history={[]} chartHeight={0} width={width} />
        <HelpOverlay height={Math.max(0, rows - 1 - header.length)} width={width} />
      </Box>
    );
  }
  const statusLines = mode.kind === 'add' ? 1 + (mode.error ? errorLines(`✗ ${mode.error}`, width).length : 1) : 1;
  const titleLines = title.length;
  const fixedLines = titleLines + header.length + 1 + statusLines + 1;
  const plan = planLayout({ rows, fixedLines, backends: pool?.backends.length ?? 0, logsVisible: ui.logsVisible });
  const poolEvents = snapshot.events.filter((e) => e.pool === undefined || e.pool === pool?.name);
  return (
    <Box flexDirection="column" width={width}>
      {title.map((line, i) => (
        <Text key={`title-${i}`} wrap="truncate-end" color="cyanBright">
          {line}
        </Text>
      ))}
      <Header lines={header} history={movingAverage(snapshot.rpsHistory, 4)} chartHeight={plan.chartLines} width={width} />
      <BackendTable backends={pool?.backends ?? []} selected={ui.selected} height={plan.tableLines} width={width} />
      <EventPane events={poolEvents} height={plan.eventLines} />
      {ui.logsVisible && plan.logLines >= 2 ? (
        logs ? (
          <LogPane store={logs} height={plan.logLines} />
        ) : (
          <Text dimColor>access log: not available in this view</Text>
        )
      ) : null}
      {mode.kind === 'add' ? (
        <AddBackendInput text={mode.text} error={mode.error} width={width} />
      ) : mode.kind === 'confirm' ? (
        <ConfirmRemove name={mode.backend.name} url={mode.backend.url} inFlight={mode.backend.inFlight} />
      ) : (
        <StatusLine notice={ui.notice} />
      )}
      <HelpLine scope={mode.kind} width={width} />
    </Box>
  );
}
