// What the server and its spawner say to each other over the spawner's IPC
// channel. Children's own messages never pass here: they use their socket.

export type SpawnerRequest = {
  type: 'start';
  id: number;
  /** The program and its arguments: node (or the parent-death launcher) and the child entry's. */
  file: string;
  args: string[];
  env: Record<string, string | undefined>;
};

export type SpawnerReport =
  | { type: 'spawned'; id: number; pid: number }
  | { type: 'failed'; id: number; code: string; message: string }
  | { type: 'exit'; id: number; code: number | null; signal: NodeJS.Signals | null };
