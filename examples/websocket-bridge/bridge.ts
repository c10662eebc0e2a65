/**
 * A small HTTP and WebSocket server that forwards a tracker's change feed to browsers, in the
 * message shapes the production front-ends already listen for (`generationProgress`,
 * `generationUpdate`, sent to the generation's account), plus `cookProgress` and `castProgress`
 * messages for progress bars, and an `accountBalance` message with the account's available points
 * (stores that keep accounts): read once when a page connects, then sent from every `accountUpdate`
 * the watch delivers (a credit, a debit, a hold taken, its capture and release, a reconcile), with
 * the account's figures as they were stored. It serves one static page (index.html) that shows a
 * running cook.
 *
 * The feed comes from `tracker.watch()`, so the work can be done by any process sharing the store:
 * the bridge only reads.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  castProgress,
  cookProgress,
  toGenerationProgressMessage,
  toGenerationUpdateMessage,
  UnsupportedError,
  type Account,
  type Cast,
  type Cook,
  type Tracker,
  type Watch,
} from 'genledger';
import { WebSocketServer, type WebSocket } from 'ws';

export interface BridgeOptions {
  readonly tracker: Tracker;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
}

export interface Bridge {
  readonly url: string;
  readonly watch: Watch;
  close(): Promise<void>;
}

const page = new URL('./index.html', import.meta.url);

export async function startBridge(options: BridgeOptions): Promise<Bridge> {
  const html = await readFile(page, 'utf8');
  const server: Server = createServer((request, response) => {
    if (request.url === '/' || request.url?.startsWith('/?')) {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      response.end(html);
      return;
    }
    response.writeHead(404).end();
  });
  const sockets = new WebSocketServer({ server, path: '/ws' });
  /** Connected browsers by account id: messages go to the account the record belongs to. */
  const byAccount = new Map<string, Set<WebSocket>>();
  sockets.on('connection', (socket, request) => {
    const accountId = new URL(request.url ?? '/', 'http://bridge').searchParams.get('accountId') ?? '';
    const set = byAccount.get(accountId) ?? new Set();
    set.add(socket);
    byAccount.set(accountId, set);
    socket.on('close', () => set.delete(socket));
    socket.send(JSON.stringify({ type: 'hello', payload: { accountId } }));
    // A page opened while its cook runs (or after it ended) starts from the cook as stored.
    const cookId = new URL(request.url ?? '/', 'http://bridge').searchParams.get('cookId');
    if (cookId) void sendSnapshot(socket, accountId, cookId).catch(() => undefined);
    void sendAccount(accountId);
  });
  /** `false` once the store said it keeps no accounts: no more reads. */
  let accountsKept = true;
  async function sendAccount(accountId: string): Promise<void> {
    if (!accountsKept || !byAccount.get(accountId)?.size) return;
    try {
      send(accountId, accountMessage(await options.tracker.getAccount(accountId)));
    } catch (error) {
      if (error instanceof UnsupportedError) accountsKept = false;
    }
  }
  async function sendSnapshot(socket: WebSocket, accountId: string, cookId: string): Promise<void> {
    const cook = await options.tracker.getCook(cookId);
    if (!cook || cook.initiatorAccountId !== accountId) return;
    const casts = (await Promise.all(cook.castIds.map((castId) => options.tracker.getCast(castId)))).filter((cast): cast is Cast => cast !== null);
    for (const message of [cookMessage(cook), ...casts.map(castMessage)]) if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
  }
  const send = (accountId: string, message: unknown) => {
    const text = JSON.stringify(message);
    for (const socket of byAccount.get(accountId) ?? []) if (socket.readyState === socket.OPEN) socket.send(text);
  };
  // `version` lets the page drop a message older than what it shows (a snapshot read on connect
  // may cross a live update).
  const castMessage = (cast: Cast) => ({ type: 'castProgress', payload: { ...castProgress(cast), cookId: cast.cookId, spellId: cast.spellId, version: cast.version } });
  const accountMessage = (account: Account) => ({
    type: 'accountBalance',
    payload: { accountId: account.accountId, availablePoints: account.available.points, heldPoints: account.held.points, balancePoints: account.balance.points, version: account.version },
  });
  const cookMessage = (cook: Cook) => ({ type: 'cookProgress', payload: { ...cookProgress(cook), collectionId: cook.collectionId, version: cook.version } });

  const watch = options.tracker.watch();
  watch.on('generationProgress', ({ generation }) => send(generation.masterAccountId, toGenerationProgressMessage(generation)));
  watch.on('generationUpdate', ({ generation, change }) => {
    // Production sent generationUpdate at the terminal transition; progress bars need the rest.
    if (change === 'finished') send(generation.masterAccountId, toGenerationUpdateMessage(generation));
    else send(generation.masterAccountId, toGenerationProgressMessage(generation));
  });
  // Every move of an account, made by any process sharing the store (stores whose feed reports
  // accounts, `capabilities.accountChanges`); the page drops one older than what it shows.
  watch.on('accountUpdate', ({ account }) => send(account.accountId, accountMessage(account)));
  watch.on('castUpdate', ({ cast }) => send(cast.initiatorAccountId, castMessage(cast)));
  watch.on('cookUpdate', ({ cook }) => send(cook.initiatorAccountId, cookMessage(cook)));
  await watch.ready;

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}/`,
    watch,
    async close() {
      await watch.close();
      for (const socket of sockets.clients) socket.terminate();
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
