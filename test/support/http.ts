import { expect } from 'vitest';
/** Small fetch helpers for tests that go over real HTTP (many concurrent clients). */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  body: any;
}

export async function call(baseUrl: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

/** Counts of each status in a list of answers, e.g. { 201: 1, 409: 999 }. */
export function statusCounts(answers: HttpAnswer[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const answer of answers) counts[answer.status] = (counts[answer.status] ?? 0) + 1;
  return counts;
}

/** An answer in the one error shape of every route: `{ error: { code, message, details? } }`. */
export function expectErrorShape(response: { statusCode: number; json(): any }, status: number, code: string): void {
  expect(response.statusCode).toBe(status);
  const body = response.json();
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
}
