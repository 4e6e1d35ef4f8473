// What the server and its spawner say to each other over the spawner's IPC
// channel. Children's own messages never pass here: they use their socket.

export type SpawnerRequest =
  | {
      type: 'start';
      id: number;
      /** The program and its arguments: node (or the parent-death launcher) and the child entry's. */
      file: string;
      args: string[];
      env: Record<string, string | undefined>;
      /** The server's working directory now: a spawned child starts where a forked one would. */
      cwd: string;
      /** The server's ids now: a server that dropped privileges after starting its spawner gets children with its new ids. */
      uid: number | undefined;
      gid: number | undefined;
      /** Written to the child's fd 3, then closed: its proof to the server's socket, never in its environment. */
      token: string;
    }
  /** The server may not signal a child (it dropped privileges after the child started): the spawner does it. */
  | { type: 'kill'; id: number; signal: NodeJS.Signals | number }
  /** An answer is late: is the spawner itself alive and running? */
  | { type: 'ping' };

export type SpawnerReport =
  | { type: 'spawned'; id: number; pid: number }
  | { type: 'failed'; id: number; code: string; message: string }
  | { type: 'exit'; id: number; code: number | null; signal: NodeJS.Signals | null }
  | { type: 'pong' };
