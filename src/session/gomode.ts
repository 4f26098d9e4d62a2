/**
 * Go's os.FileMode encoding, which fsutil puts in Stat.mode (not the Unix st_mode bits).
 * Conversions follow os/stat_linux.go (fillFileStatFromSys) in both directions.
 */
export const ModeDir = 0x80000000; // 1<<31
export const ModeAppend = 1 << 30;
export const ModeExclusive = 1 << 29;
export const ModeTemporary = 1 << 28;
export const ModeSymlink = 1 << 27;
export const ModeDevice = 1 << 26;
export const ModeNamedPipe = 1 << 25;
export const ModeSocket = 1 << 24;
export const ModeSetuid = 1 << 23;
export const ModeSetgid = 1 << 22;
export const ModeCharDevice = 1 << 21;
export const ModeSticky = 1 << 20;
export const ModeIrregular = 1 << 19;
export const ModePerm = 0o777;
/** Go's os.ModeType: any of these set means "not a regular file". */
export const ModeType = (ModeDir | ModeSymlink | ModeNamedPipe | ModeSocket | ModeDevice | ModeCharDevice | ModeIrregular) >>> 0;

const S_IFMT = 0o170000;
const S_IFSOCK = 0o140000;
const S_IFLNK = 0o120000;
const S_IFREG = 0o100000;
const S_IFBLK = 0o060000;
const S_IFDIR = 0o040000;
const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;
const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;

/** Unix st_mode → Go os.FileMode (unsigned 32-bit). */
export function goModeFromUnix(stMode: number): number {
  let m = stMode & ModePerm;
  switch (stMode & S_IFMT) {
    case S_IFBLK: m |= ModeDevice; break;
    case S_IFCHR: m |= ModeDevice | ModeCharDevice; break;
    case S_IFDIR: m |= ModeDir; break;
    case S_IFIFO: m |= ModeNamedPipe; break;
    case S_IFLNK: m |= ModeSymlink; break;
    case S_IFREG: break;
    case S_IFSOCK: m |= ModeSocket; break;
  }
  if (stMode & S_ISGID) m |= ModeSetgid;
  if (stMode & S_ISUID) m |= ModeSetuid;
  if (stMode & S_ISVTX) m |= ModeSticky;
  return m >>> 0;
}

/** Permission bits plus setuid/setgid/sticky as a chmod(2) argument. */
export function chmodBitsFromGo(goMode: number): number {
  let m = goMode & ModePerm;
  if (goMode & ModeSetuid) m |= S_ISUID;
  if (goMode & ModeSetgid) m |= S_ISGID;
  if (goMode & ModeSticky) m |= S_ISVTX;
  return m;
}

export function isDir(goMode: number): boolean { return (goMode & ModeDir) !== 0; }
export function isSymlink(goMode: number): boolean { return (goMode & ModeSymlink) !== 0; }
export function isRegular(goMode: number): boolean { return ((goMode >>> 0) & ModeType) === 0; }
