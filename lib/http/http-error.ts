/** An answer with a status other than 200, such as bad input: becomes one line with this status. */
export class HttpError extends Error {
  /** Its message is written for the client, whatever the status. */
  readonly expose = true;

  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}
