import WebSocket from 'ws';
import type { Envelope, OutputChunk } from '@agentyard/contracts';

/** A logged-in dashboard connection: collects every event and output chunk it is sent. */
export class LiveSocket {
  readonly events: Envelope[] = [];
  readonly output: OutputChunk[] = [];
  /** Every frame as sent, for checks on what a frame names anywhere in it. */
  readonly frames: string[] = [];
  /** Resolves with the close code once the server (or we) closed the socket. */
  readonly closed: Promise<number>;

  private constructor(private readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  static open(base: string, token: string): Promise<LiveSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/ws`);
      const live = new LiveSocket(ws);
      ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', token })));
      ws.on('message', (raw) => {
        live.frames.push(raw.toString());
        const msg = JSON.parse(raw.toString()) as { type: string; event?: Envelope; chunk?: OutputChunk };
        if (msg.type === 'ready') resolve(live);
        if (msg.type === 'event' && msg.event) live.events.push(msg.event);
        if (msg.type === 'output' && msg.chunk) live.output.push(msg.chunk);
      });
      ws.on('error', reject);
      ws.on('close', (code) => reject(new Error(`socket closed ${code}`)));
    });
  }

  eventsOf(taskId: string): Envelope[] {
    return this.events.filter((e) => (e.data as { taskId?: string }).taskId === taskId);
  }

  close(): void {
    this.ws.close();
  }
}
