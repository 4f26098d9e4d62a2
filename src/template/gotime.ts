/**
 * Go time.Time rendering: `String()` ("2006-01-02 15:04:05.999999999 -0700 MST") and layout-based
 * `Format` for Sprig's date functions. Zones: UTC, or the process's local zone.
 */
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

function localZoneName(d: Date, offsetMin: number): string {
  if (offsetMin === 0 && (process.env.TZ === undefined || process.env.TZ === '' || process.env.TZ === 'UTC')) return 'UTC';
  try {
    const p = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((x) => x.type === 'timeZoneName');
    if (p && /^[A-Z]{3,5}$/.test(p.value)) return p.value;
  } catch {
    /* fall through to numeric name */
  }
  const sign = offsetMin < 0 ? '-' : '+';
  const a = Math.abs(offsetMin);
  const hh = String(Math.floor(a / 60)).padStart(2, '0');
  const mm = a % 60;
  return sign + hh + (mm ? String(mm).padStart(2, '0') : '');
}

function parts(t: GoTime): Parts {
  const d = new Date(t.ms);
  const offsetMin = t.zone === 'UTC' ? 0 : -d.getTimezoneOffset();
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
    zoneName: t.zone === 'UTC' ? 'UTC' : localZoneName(d, offsetMin),
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
