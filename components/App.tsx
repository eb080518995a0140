/**
 * The dashboard's layout, filling the terminal exactly: title, header and chart, backend table,
 * event and log panes (or the strategy picker), status line, and the key bar on the last line.
 * While velo stops, the same screen shows the drain.
 */
import { Box, Text } from 'ink';
import { AddBackendInput, LineInput, inputLines } from './AddBackendInput.js';
import { BackendTable } from './BackendTable.js';
import { ConfirmRemove } from './ConfirmRemove.js';
import { ConfirmSave, saveQuestionLines } from './ConfirmSave.js';
import { EventPane } from './EventPane.js';
import { EventView } from './EventView.js';
import { Header } from './Header.js';
import { configLabel, headerSegments, hostPort, packSegments } from './header-lines.js';
import { HelpLine } from './HelpLine.js';
import { HelpOverlay } from './HelpOverlay.js';
import { poolEvents, useDashboard, type PageSizes } from './hooks/use-dashboard.js';
import { useSnapshot, useStore } from './hooks/use-snapshot.js';
import { useTerminalSize } from './hooks/use-terminal-size.js';
import { useWindowRates } from './hooks/use-window-rates.js';
import type { ScreenScope } from './keymap.js';
import { planLayout } from './layout.js';
import { LogPane } from './LogPane.js';
import { ColorContext, colorWanted, useTint } from './palette.js';
import { QuitConfirm } from './QuitConfirm.js';
import { ShutdownBanner } from './ShutdownBanner.js';
import { PeersStrip } from './PeersStrip.js';
import { movingAverage } from './sparkline.js';
import { StatusLine } from './StatusLine.js';
import type { DashboardControl, DrainStore, DrainView, LogStore, SnapshotStore } from './store.js';
import { StrategyPicker } from './StrategyPicker.js';
import { useRef } from 'react';
import type { EngineSnapshot } from '../src/metrics/snapshot.js';

/** Everything the dashboard reads and calls. */
export interface AppProps {
  store: SnapshotStore;
  control: DashboardControl;
  /** Source of the `l` pane; without one the pane says so. */
  logs?: LogStore;
  /** The drain once velo begins to stop (the stop rule's count and deadline). */
  drain?: DrainStore;
  /** Lines shown above the header (the demo explains itself there). */
  title?: readonly string[];
  /** False to draw no colour at all (NO_COLOR); by default read from the environment. */
  color?: boolean;
}

const NO_DRAIN: DrainStore = { subscribe: () => () => {}, getSnapshot: () => undefined };

/** Requests in flight (WebSocket tunnels not counted) and open WebSocket connections. */
function inFlight(snapshot: EngineSnapshot): { requests: number; connections: number } {
  const connections = snapshot.pools.reduce((n, p) => n + p.backends.reduce((m, b) => m + b.tunnels, 0), 0);
  return { requests: Math.max(0, snapshot.totals.inFlight - connections), connections };
}

/** Provides the colour setting and draws `Screen`. */
export function App(props: AppProps) {
  return (
    <ColorContext.Provider value={props.color ?? colorWanted()}>
      <Screen {...props} />
    </ColorContext.Provider>
  );
}

function Screen({ store, control, logs, drain: drainStore = NO_DRAIN, title = [] }: AppProps) {
  const snapshot = useSnapshot(store);
  const drain: DrainView | undefined = useStore(drainStore);
  const { columns: width, rows } = useTerminalSize();
  const tint = useTint();
  const pages = useRef<PageSizes>({ table: 10, events: 10 });
  const isStopping = (): boolean => store.getSnapshot().shuttingDown || drainStore.getSnapshot() !== undefined;
  const ui = useDashboard(store.getSnapshot, control, isStopping, () => pages.current);
  const { mode, pool } = ui;
  const stopping = snapshot.shuttingDown || drain !== undefined;
  const rates = useWindowRates(snapshot);
  const header = packSegments(headerSegments(snapshot, pool, ui.poolIndex, rates), width);
  const events = poolEvents(snapshot, pool);
  const counts = inFlight(snapshot);
  const scope: ScreenScope = stopping ? 'stopping' : mode.kind;
  const frame = (children: React.ReactNode) => (
    <Box flexDirection="column" width={width} height={rows} overflow="hidden">
      {children}
    </Box>
  );
  // With `cluster.redis`, one line of peers under the header.
  const strip = snapshot.cluster !== undefined ? <PeersStrip cluster={snapshot.cluster} peers={snapshot.peers} /> : null;
  const stripLines = strip === null ? 0 : 1;
  const body = Math.max(0, rows - header.length - stripLines - 1);
  if (!stopping && mode.kind === 'help') {
    const places = { config: configLabel(snapshot.configSource), admin: snapshot.admin ? `http://${hostPort(snapshot.admin.host, snapshot.admin.port)}` : 'off' };
    return frame(
      <>
        <Header lines={header} history={[]} chartHeight={0} width={width} />
        {strip}
        <HelpOverlay height={body} width={width} places={places} />
        <HelpLine scope="help" width={width} />
      </>,
    );
  }
  if (!stopping && mode.kind === 'events') {
    pages.current = { ...pages.current, events: Math.max(1, body - 2) };
    return frame(
      <>
        <Header lines={header} history={[]} chartHeight={0} width={width} />
        {strip}
        <EventView events={events} fromNewest={mode.fromNewest} height={body} width={width} />
        <HelpLine scope="events" width={width} />
      </>,
    );
  }
  // The save question lists the changes in up to a quarter of the terminal, the table and panes keep the rest.
  const saveLines = Math.max(2, Math.floor(rows / 4));
  const statusLines = stopping
    ? 2
    : mode.kind === 'add' || mode.kind === 'test' || mode.kind === 'filter'
      ? inputLines(mode.error, width)
      : mode.kind === 'save'
        ? saveQuestionLines(mode.file, mode.changes, saveLines).length
        : 1;
  const fixedLines = title.length + header.length + stripLines + 1 + statusLines + 1;
  const plan = planLayout({ rows, fixedLines, backends: pool?.backends.length ?? 0, logsVisible: ui.logsVisible });
  pages.current = { ...pages.current, table: Math.max(1, plan.tableLines - 1) };
  const bottom = plan.eventLines + plan.logLines;
  return frame(
    <>
      {title.map((line, i) => (
        <Text key={`title-${i}`} wrap="truncate-end" color={tint('cyanBright')}>
          {line}
        </Text>
      ))}
      <Header lines={header} history={movingAverage(snapshot.rpsHistory, 4)} chartHeight={plan.chartLines} width={width} />
      {strip}
      <BackendTable backends={pool?.backends ?? []} selected={ui.selected} height={plan.tableLines} width={width} />
      {!stopping && mode.kind === 'picker' ? (
        <StrategyPicker pool={mode.pool} current={mode.current} onChoose={ui.chooseStrategy} height={bottom} />
      ) : (
        <>
          <EventPane events={events} height={plan.eventLines} />
          {plan.logLines > 0 ? (
            logs ? (
              <LogPane store={logs} height={plan.logLines} filter={ui.logFilter} />
            ) : (
              <Box height={plan.logLines}>
                <Text dimColor>access log: not available in this view</Text>
              </Box>
            )
          ) : null}
        </>
      )}
      {stopping ? (
        <ShutdownBanner drain={drain} requests={counts.requests} connections={counts.connections} now={snapshot.takenAt} />
      ) : mode.kind === 'add' ? (
        <AddBackendInput edit={mode.edit} error={mode.error} width={width} />
      ) : mode.kind === 'test' ? (
        <LineInput prompt="test requests to send through velo: " edit={mode.edit} error={mode.error} width={width} hint="Enter sends them (like velo make-request -n N) · Esc sends none" />
      ) : mode.kind === 'filter' ? (
        <LineInput prompt="filter log: " edit={mode.edit} error={mode.error} width={width} hint="Enter applies · Esc clears · e.g. status:5xx backend:b2 · keys: status backend pool method path flag slower client" />
      ) : mode.kind === 'confirm' ? (
        <ConfirmRemove name={mode.backend.name} url={mode.backend.url} inFlight={mode.backend.inFlight} />
      ) : mode.kind === 'save' ? (
        <ConfirmSave file={mode.file} changes={mode.changes} maxLines={saveLines} />
      ) : mode.kind === 'quit' ? (
        <QuitConfirm requests={counts.requests} connections={counts.connections} />
      ) : (
        <StatusLine notice={ui.notice} />
      )}
      <HelpLine scope={scope} width={width} />
    </>,
  );
}
