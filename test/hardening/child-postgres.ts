import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

interface Event {
  event: 'ready' | 'stopped' | 'error';
  url?: string;
  message?: string;
  log?: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** A PostgreSQL the test owns, run by pg-child.mjs in a child process: stop it and start it at will. */
export class ChildPostgres {
  private readonly waiting: ((e: Event) => void)[] = [];

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const event = JSON.parse(line) as Event;
      this.waiting.shift()?.(event);
    });
  }

  static async start(): Promise<{ pg: ChildPostgres; url: string }> {
    const dir = mkdtempSync(join(tmpdir(), 'cg-outage-pg-'));
    const child = spawn(process.execPath, [join(__dirname, 'pg-child.mjs'), dir, String(await freePort())], { stdio: ['pipe', 'pipe', 'inherit'] });
    const pg = new ChildPostgres(child, dir);
    const ready = await pg.next();
    return { pg, url: ready.url! };
  }

  private next(): Promise<Event> {
    return new Promise((resolve, reject) =>
      this.waiting.push((e) => (e.event === 'error' ? reject(new Error(`${e.message}\n${e.log}`)) : resolve(e))),
    );
  }

  async stop(): Promise<void> {
    const done = this.next();
    this.child.stdin!.write('stop\n');
    expectEvent(await done, 'stopped');
  }

  async restart(): Promise<void> {
    const done = this.next();
    this.child.stdin!.write('start\n');
    expectEvent(await done, 'ready');
  }

  async dispose(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin!.end('exit\n');
    await exited;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function expectEvent(e: Event, name: Event['event']): void {
  if (e.event !== name) throw new Error(`expected ${name} from the PostgreSQL child, got ${JSON.stringify(e)}`);
}
