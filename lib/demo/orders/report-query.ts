// The report routes' input: ?region=X[&days=D], checked before any query runs.
import { ORDERS_DB_DEFAULTS } from '../../defaults.js';
import { HttpError } from '../../http/http-error.js';
import { REGIONS, type Region } from './orders-schema.js';

export function reportArgs(query: URLSearchParams): [Region, number] {
  const region = query.get('region');
  if (region === null || region === '') throw new HttpError(400, `missing argument: region (one of ${REGIONS.join(', ')})`);
  if (!(REGIONS as readonly string[]).includes(region)) throw new HttpError(400, `unknown region "${region.slice(0, 40)}": use one of ${REGIONS.join(', ')}`);
  const rawDays = query.get('days');
  let days: number = ORDERS_DB_DEFAULTS.days;
  if (rawDays !== null) {
    days = /^\d{1,3}$/.test(rawDays) ? Number(rawDays) : NaN;
    if (!(days >= 1 && days <= ORDERS_DB_DEFAULTS.maxDays)) throw new HttpError(400, `days must be a whole number from 1 to ${ORDERS_DB_DEFAULTS.maxDays}, got "${rawDays.slice(0, 40)}"`);
  }
  return [region as Region, days];
}
