// A refusal the console answers with its own HTTP status (a bad field: 400, nothing there: 404, not
// Ready: 409); any other failure of a request is the cluster's or S3's, answered 502 with its words.
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(readonly status: number, message: string, readonly hint?: string) {
    super(message);
  }
}
