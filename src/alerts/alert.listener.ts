import { Client } from 'pg';
import type { Logger } from 'pino';

/** Reconnect backoff of the LISTEN connection, doubling from min to max (read at each drop, so it may change). */
export interface ListenerBackoff {
  reconnectMinMs: number;
  reconnectMaxMs: number;
}

/** What the listener tells its hub. */
export interface ListenerEvents {
  /** A NOTIFY arrived on `channel`; `payload` is what it announces. */
  ring(channel: string, payload: string | undefined): void;
  /** (Re)connected and listening: anything may have been missed meanwhile. */
  connected(): void;
}

/**
 * The one LISTEN connection of a process's alert hub, on every channel the hub and its
 * attached kinds use. A dropped connection (an error or an end, both the same) is
 * reconnected with backoff; each (re)connect is announced so the hub reads what it
 * missed. The notifications are only a doorbell: nothing is lost with them.
 */
export class AlertListener {
  private client?: Client;
  private reconnectTimer?: NodeJS.Timeout;
  private reconnectDelay: number;
  private stopped = false;
  /** In listening order: the hub's own channel first. */
  private readonly channels = new Set<string>();

  constructor(
    private readonly connectionString: string | undefined,
    private readonly log: Logger,
    private readonly backoff: ListenerBackoff,
    private readonly events: ListenerEvents,
  ) {
    this.reconnectDelay = backoff.reconnectMinMs;
  }

  async start(channel: string): Promise<void> {
    this.channels.add(channel);
    await this.listen();
  }

  /** Listens to one more channel, now if connected, else from the next connect on. */
  async add(channel: string): Promise<void> {
    this.channels.add(channel);
    await this.client?.query(`listen ${channel}`).catch((err) => this.log.warn({ err }, 'listening to an attached alert channel failed'));
  }

  get connected(): boolean {
    return this.client !== undefined;
  }

  /** The server process id of the connection, while connected. */
  pid(): number | undefined {
    return (this.client as (Client & { processID?: number }) | undefined)?.processID;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async listen(): Promise<void> {
    const client = new Client({ connectionString: this.connectionString, application_name: 'consent-gateway alert listener' });
    // Errors and ends both mean the same: reconnect, then read what was missed meanwhile.
    client.on('error', (err) => this.dropped(client, err));
    client.on('end', () => this.dropped(client));
    client.on('notification', (msg) => this.events.ring(msg.channel, msg.payload));
    try {
      await client.connect();
      for (const channel of this.channels) await client.query(`listen ${channel}`);
    } catch (err) {
      this.dropped(client, err as Error);
      return;
    }
    this.client = client;
    this.reconnectDelay = this.backoff.reconnectMinMs;
    this.events.connected();
  }

  private dropped(client: Client, err?: Error): void {
    if (this.stopped || (this.client && this.client !== client)) return;
    if (this.reconnectTimer) return;
    this.client = undefined;
    client.removeAllListeners();
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    this.log.warn({ err, retryInMs: this.reconnectDelay }, 'alert listener connection lost; reconnecting');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopped) void this.listen();
    }, this.reconnectDelay);
    this.reconnectTimer.unref();
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, this.backoff.reconnectMaxMs);
  }
}
