/** An answer with a status other than 200, such as bad input: becomes one line with this status. */
export class HttpError extends Error {
  /** Its message is written for the client, whatever the status. */
  readonly expose = true;
  /** The same as status, for frameworks that read statusCode (Fastify). */
  readonly statusCode: number;

  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'HttpError';
    this.statusCode = status;
  }
}
