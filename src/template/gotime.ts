/**
 * Go time.Time rendering: `String()` ("2006-01-02 15:04:05.999999999 -0700 MST") and layout-based
 * `Format` for Sprig's date functions. Zones: UTC, or the process's local zone.
 */
import * as fs from 'node:fs';
import { GoTime } from './value';

interface Parts {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number; // 0 = Sunday
  yday: number;
  offsetMin: number; // east of UTC
  zoneName: string;
}

/** The IANA name of the process's local zone (TZ, else /etc/localtime), or null for UTC. */
function localZoneId(): string | null {
  const tz = process.env.TZ;
  if (tz !== undefined) return tz === '' || tz === 'UTC' ? null : tz.replace(/^:/, '');
  try {
    const link = fs.readlinkSync('/etc/localtime');
    const m = /zoneinfo\/(.+)$/.exec(link);
    if (m) return m[1] === 'Etc/UTC' || m[1] === 'UTC' ? null : m[1];
  } catch {
    /* no /etc/localtime: UTC */
  }
  return Intl.DateTimeFormat().resolvedOptions().timeZone ?? null;
}

/** Offset (minutes east of UTC) of an IANA zone at an instant, from the platform's tz database. */
function zoneOffsetAt(zone: string, ms: number): number {
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
  });
  const p: Record<string, number> = {};
  for (const x of f.formatToParts(new Date(ms))) if (x.type !== 'literal') p[x.type] = Number(x.value);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return Math.round((wall - Math.floor(ms / 1000) * 1000) / 60000);
}

const abbrevCache = new Map<string, Map<string, string>>();

/** Zone abbreviations by "offset/isdst" from the TZif file Go would read (e.g. MSK, CET, +04). */
function tzifAbbrevs(zone: string): Map<string, string> {
  let m = abbrevCache.get(zone);
  if (m) return m;
  m = new Map();
  try {
    const b = fs.readFileSync(`/usr/share/zoneinfo/${zone}`);
    if (b.subarray(0, 4).toString() === 'TZif') {
      const cnt = (o: number) => b.readUInt32BE(o);
      const [isut, isstd, leap, timecnt, typecnt, charcnt] = [20, 24, 28, 32, 36, 40].map(cnt);
      let off = 44;
      const v2 = b[4] >= 0x32;
      let tsize = 4;
      if (v2) {
        off += timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut;
        const c2 = (o: number) => b.readUInt32BE(off + o);
        const [isut2, isstd2, leap2, timecnt2, typecnt2, charcnt2] = [20, 24, 28, 32, 36, 40].map(c2);
        void isut2; void isstd2; void leap2;
        off += 44;
        tsize = 8;
        const idxAt = off + timecnt2 * tsize;
        const typesAt = idxAt + timecnt2;
        const charsAt = typesAt + typecnt2 * 6;
        const setType = (i: number) => {
          const utoff = b.readInt32BE(typesAt + i * 6);
          const idx = b[typesAt + i * 6 + 5];
          const end = b.indexOf(0, charsAt + idx);
          m!.set(String(Math.round(utoff / 60)), b.subarray(charsAt + idx, end).toString());
        };
        for (let i = 0; i < typecnt2; i++) setType(i);
        // the abbreviation in use most recently wins (EDT over EWT/EPT for -4h in New York)
        for (let t = 0; t < timecnt2; t++) setType(b[idxAt + t]);
        void charcnt2;
      } else {
        const typesAt = off + timecnt * tsize + timecnt;
        const charsAt = typesAt + typecnt * 6;
        for (let i = 0; i < typecnt; i++) {
          const utoff = b.readInt32BE(typesAt + i * 6);
          const idx = b[typesAt + i * 6 + 5];
          const end = b.indexOf(0, charsAt + idx);
          m.set(String(Math.round(utoff / 60)), b.subarray(charsAt + idx, end).toString());
        }
      }
    }
  } catch {
    /* unknown zone file: numeric names */
  }
  abbrevCache.set(zone, m);
  return m;
}

function numericZoneName(offsetMin: number): string {
  const sign = offsetMin < 0 ? '-' : '+';
  const a = Math.abs(offsetMin);
  const hh = String(Math.floor(a / 60)).padStart(2, '0');
  const mm = a % 60;
  return sign + hh + (mm ? String(mm).padStart(2, '0') : '');
}

/** Is `zone` a zone Go's time.LoadLocation would accept (here: one the platform knows)? */
export function validZone(zone: string): boolean {
  if (zone === 'UTC' || zone === '' || zone === 'Local') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return fs.existsSync(`/usr/share/zoneinfo/${zone}`) || true;
  } catch {
    return false;
  }
}

function parts(t: GoTime): Parts {
  let zoneId: string | null = t.zone === 'UTC' ? null : t.zone === 'Local' ? localZoneId() : t.zone;
  let offsetMin = 0;
  let zoneName = 'UTC';
  if (zoneId && zoneId.startsWith('fixed:')) {
    // time.FixedZone("", off): printed as -0700
    offsetMin = Number(zoneId.slice(6));
    zoneName = zoneOffset(offsetMin, false);
    zoneId = null;
  }
  if (zoneId) {
    try {
      offsetMin = zoneOffsetAt(zoneId, t.ms);
      zoneName = tzifAbbrevs(zoneId).get(String(offsetMin)) ?? numericZoneName(offsetMin);
    } catch {
      zoneId = null;
    }
  }
  const s = new Date(t.ms + offsetMin * 60000);
  const start = Date.UTC(s.getUTCFullYear(), 0, 1);
  const yday = Math.floor((Date.UTC(s.getUTCFullYear(), s.getUTCMonth(), s.getUTCDate()) - start) / 86400000) + 1;
  return {
    year: s.getUTCFullYear(),
    month: s.getUTCMonth() + 1,
    day: s.getUTCDate(),
    hour: s.getUTCHours(),
    minute: s.getUTCMinutes(),
    second: s.getUTCSeconds(),
    weekday: s.getUTCDay(),
    yday,
    offsetMin,
    zoneName,
  };
}

const longDays = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const longMonths = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

function nanosOf(t: GoTime): number {
  const msPart = ((t.ms % 1000) + 1000) % 1000;
  return msPart * 1e6 + t.nanos;
}

const p2 = (n: number) => String(n).padStart(2, '0');

function zoneOffset(offsetMin: number, colon: boolean, withSeconds = false, z = false): string {
  if (z && offsetMin === 0) return 'Z';
  const sign = offsetMin < 0 ? '-' : '+';
  const a = Math.abs(offsetMin);
  let s = sign + p2(Math.floor(a / 60)) + (colon ? ':' : '') + p2(a % 60);
  if (withSeconds) s += (colon ? ':' : '') + '00';
  return s;
}

const layoutTokens = [
  'January', 'Jan', 'Monday', 'Mon', 'MST',
  '2006', '-070000', '-07:00:00', '-0700', '-07:00', '-07',
  'Z070000', 'Z07:00:00', 'Z0700', 'Z07:00', 'Z07',
  '01', '02', '03', '04', '05', '06', '002', '__2', '_2', '15', '1', '2', '3', '4', '5',
  'PM', 'pm',
];

/** time.Time.Format with Go's reference layout. */
export function formatLayout(t: GoTime, layout: string): string {
  const p = parts(t);
  const ns = nanosOf(t);
  let out = '';
  let i = 0;
  while (i < layout.length) {
    // fractional seconds: .000 / ,000 / .999
    const fm = /^[.,](0+|9+)(?![0-9])/.exec(layout.slice(i));
    if (fm && (i === 0 || true)) {
      const n = fm[1].length;
      let frac = String(ns).padStart(9, '0').slice(0, n);
      if (fm[1][0] === '9') {
        frac = frac.replace(/0+$/, '');
        out += frac ? fm[0][0] + frac : '';
      } else out += fm[0][0] + frac;
      i += fm[0].length;
      continue;
    }
    const tok = layoutTokens.find((k) => layout.startsWith(k, i));
    if (!tok) {
      out += layout[i];
      i++;
      continue;
    }
    i += tok.length;
    switch (tok) {
      case 'January': out += longMonths[p.month - 1]; break;
      case 'Jan': out += longMonths[p.month - 1].slice(0, 3); break;
      case 'Monday': out += longDays[p.weekday]; break;
      case 'Mon': out += longDays[p.weekday].slice(0, 3); break;
      case 'MST': out += p.zoneName; break;
      case '2006': out += String(p.year).padStart(4, '0'); break;
      case '06': out += p2(p.year % 100); break;
      case '01': out += p2(p.month); break;
      case '1': out += String(p.month); break;
      case '02': out += p2(p.day); break;
      case '_2': out += String(p.day).padStart(2, ' '); break;
      case '2': out += String(p.day); break;
      case '002': out += String(p.yday).padStart(3, '0'); break;
      case '__2': out += String(p.yday).padStart(3, ' '); break;
      case '15': out += p2(p.hour); break;
      case '03': out += p2(p.hour % 12 === 0 ? 12 : p.hour % 12); break;
      case '3': out += String(p.hour % 12 === 0 ? 12 : p.hour % 12); break;
      case '04': out += p2(p.minute); break;
      case '4': out += String(p.minute); break;
      case '05': out += p2(p.second); break;
      case '5': out += String(p.second); break;
      case 'PM': out += p.hour >= 12 ? 'PM' : 'AM'; break;
      case 'pm': out += p.hour >= 12 ? 'pm' : 'am'; break;
      case '-0700': out += zoneOffset(p.offsetMin, false); break;
      case '-07:00': out += zoneOffset(p.offsetMin, true); break;
      case '-07': out += zoneOffset(p.offsetMin, false).slice(0, 3); break;
      case '-070000': out += zoneOffset(p.offsetMin, false, true); break;
      case '-07:00:00': out += zoneOffset(p.offsetMin, true, true); break;
      case 'Z0700': out += zoneOffset(p.offsetMin, false, false, true); break;
      case 'Z07:00': out += zoneOffset(p.offsetMin, true, false, true); break;
      case 'Z07': out += p.offsetMin === 0 ? 'Z' : zoneOffset(p.offsetMin, false).slice(0, 3); break;
      case 'Z070000': out += zoneOffset(p.offsetMin, false, true, true); break;
      case 'Z07:00:00': out += zoneOffset(p.offsetMin, true, true, true); break;
    }
  }
  return out;
}

/** time.Time.String(). */
export function timeString(t: GoTime): string {
  return formatLayout(t, '2006-01-02 15:04:05.999999999 -0700 MST');
}

const shortMonths = longMonths.map((m) => m.slice(0, 3));

function quoteGo(s: string): string {
  return JSON.stringify(s);
}

/**
 * time.ParseInLocation(layout, value, loc) for the common layout elements; throws Error with Go's
 * wording ("parsing time … as …: cannot parse … as …").
 */
export function parseLayout(layout: string, value: string, zone: string): GoTime {
  const origLayout = layout;
  const origValue = value;
  const fail = (rest: string, elem: string): never => {
    throw new Error(`parsing time ${quoteGo(origValue)} as ${quoteGo(origLayout)}: cannot parse ${quoteGo(rest)} as ${quoteGo(elem)}`);
  };
  let year = 1;
  let month = 1;
  let day = 1;
  let hour = 0;
  let min = 0;
  let sec = 0;
  let nanos = 0;
  let pm: boolean | null = null;
  let offsetMin: number | null = null;
  let zoneAbbrev: string | null = null;
  let i = 0;
  let v = value;
  const num = (elem: string, minDigits: number, maxDigits: number): number => {
    const m = new RegExp(`^\\d{${minDigits},${maxDigits}}`).exec(v);
    if (!m) fail(v, elem);
    v = v.slice(m![0].length);
    return Number(m![0]);
  };
  while (i < layout.length) {
    const fm = /^[.,](0+|9+)(?![0-9])/.exec(layout.slice(i));
    if (fm) {
      i += fm[0].length;
      const m = /^[.,](\d+)/.exec(v);
      if (m) {
        nanos = Number((m[1] + '000000000').slice(0, 9));
        v = v.slice(m[0].length);
      } else if (fm[1][0] === '0') fail(v, fm[0]);
      continue;
    }
    const tok = layoutTokens.find((k) => layout.startsWith(k, i));
    if (!tok) {
      // a literal run up to the next layout element must match (runs of spaces match runs of spaces)
      let j = i;
      while (j < layout.length && !layoutTokens.some((k) => layout.startsWith(k, j)) && !/^[.,](0+|9+)(?![0-9])/.test(layout.slice(j))) j++;
      const prefix = layout.slice(i, j);
      const start = v;
      let p = prefix;
      while (p.length > 0) {
        if (p[0] === ' ') {
          if (v.length > 0 && v[0] !== ' ') fail(start, prefix);
          p = p.replace(/^ +/, '');
          v = v.replace(/^ +/, '');
          continue;
        }
        if (v.length === 0 || v[0] !== p[0]) fail(start, prefix);
        p = p.slice(1);
        v = v.slice(1);
      }
      i = j;
      continue;
    }
    i += tok.length;
    switch (tok) {
      case '2006': year = num(tok, 4, 4); break;
      case '06': { const y = num(tok, 2, 2); year = y >= 69 ? 1900 + y : 2000 + y; break; }
      case '01': month = num(tok, 2, 2); break;
      case '1': month = num(tok, 1, 2); break;
      case 'January':
      case 'Jan': {
        const names = tok === 'Jan' ? shortMonths : longMonths;
        const k = names.findIndex((n) => v.toLowerCase().startsWith(n.toLowerCase()));
        if (k < 0) fail(v, tok);
        month = k + 1;
        v = v.slice(names[k].length);
        break;
      }
      case 'Monday':
      case 'Mon': {
        const names = tok === 'Mon' ? longDays.map((d) => d.slice(0, 3)) : longDays;
        const k = names.findIndex((n) => v.toLowerCase().startsWith(n.toLowerCase()));
        if (k < 0) fail(v, tok);
        v = v.slice(names[k].length);
        break;
      }
      case '02': day = num(tok, 2, 2); break;
      case '_2': if (v[0] === ' ') v = v.slice(1); day = num(tok, 1, 2); break;
      case '2': day = num(tok, 1, 2); break;
      case '002': num(tok, 3, 3); break;
      case '__2': v = v.replace(/^ {0,2}/, ''); num(tok, 1, 3); break;
      case '15': hour = num(tok, 1, 2); break;
      case '03': hour = num(tok, 2, 2); break;
      case '3': hour = num(tok, 1, 2); break;
      case '04': min = num(tok, 2, 2); break;
      case '4': min = num(tok, 1, 2); break;
      case '05':
      case '5': {
        sec = num(tok, tok === '05' ? 2 : 1, 2);
        // Go accepts fractional seconds after a seconds field even when the layout has none
        const m = /^[.,](\d+)/.exec(v);
        if (m && !/^[.,][09]/.test(layout.slice(i))) {
          nanos = Number((m[1] + '000000000').slice(0, 9));
          v = v.slice(m[0].length);
        }
        break;
      }
      case 'PM':
      case 'pm': {
        const m = /^(AM|PM|am|pm)/.exec(v);
        if (!m) fail(v, tok);
        pm = m![1].toUpperCase() === 'PM';
        v = v.slice(2);
        break;
      }
      case 'MST': {
        const m = /^(UTC|GMT|[A-Z]{3,5}|[+-]\d{2,4})/.exec(v);
        if (!m) fail(v, tok);
        zoneAbbrev = m![1];
        v = v.slice(m![1].length);
        break;
      }
      default: {
        // numeric zones
        if (tok.startsWith('Z') && v[0] === 'Z') {
          zoneAbbrev = 'UTC'; // "Z" means the UTC location itself
          v = v.slice(1);
          break;
        }
        const m = /^([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?/.exec(v);
        if (!m) fail(v, tok);
        offsetMin = (m![1] === '-' ? -1 : 1) * (Number(m![2]) * 60 + Number(m![3] ?? 0));
        v = v.slice(m![0].length);
      }
    }
  }
  if (v.length > 0) throw new Error(`parsing time ${quoteGo(origValue)}: extra text: ${quoteGo(v)}`);
  if (pm !== null) {
    if (hour > 12) throw new Error(`parsing time ${quoteGo(origValue)}: hour out of range`);
    if (pm && hour < 12) hour += 12;
    else if (!pm && hour === 12) hour = 0;
  }
  if (month < 1 || month > 12) throw new Error(`parsing time ${quoteGo(origValue)}: month out of range`);
  const dim = new Date(Date.UTC(2000, month, 0)).getUTCDate();
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  if (day < 1 || day > (month === 2 ? (leap ? 29 : 28) : dim)) throw new Error(`parsing time ${quoteGo(origValue)}: day out of range`);
  if (hour > 23) throw new Error(`parsing time ${quoteGo(origValue)}: hour out of range`);
  if (min > 59) throw new Error(`parsing time ${quoteGo(origValue)}: minute out of range`);
  if (sec > 59) throw new Error(`parsing time ${quoteGo(origValue)}: second out of range`);
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, min, sec, 0);
  let wall = d.getTime();
  let resultZone = zone;
  if (offsetMin !== null) {
    wall -= offsetMin * 60000;
    // Go keeps the location when its offset at that instant matches, else records a fixed zone
    const zid = zone === 'UTC' ? null : zone === 'Local' ? localZoneIdExport() : zone;
    const locOff = zid ? zoneOffsetAt(zid, wall) : 0;
    if (locOff !== offsetMin) resultZone = `fixed:${offsetMin}`;
  } else if (zoneAbbrev === 'UTC') {
    resultZone = 'UTC';
  } else {
    const zid = zone === 'UTC' ? null : zone === 'Local' ? localZoneIdExport() : zone;
    if (zid) {
      let off = zoneOffsetAt(zid, wall);
      off = zoneOffsetAt(zid, wall - off * 60000);
      wall -= off * 60000;
    }
  }
  return new GoTime(wall, nanos, resultZone);
}

function localZoneIdExport(): string | null {
  return localZoneId();
}

/** Go's zero time.Time (0001-01-01 00:00:00 UTC). */
export function zeroTime(): GoTime {
  const d = new Date(0);
  d.setUTCFullYear(1, 0, 1);
  d.setUTCHours(0, 0, 0, 0);
  return new GoTime(d.getTime(), 0, 'UTC');
}
