export * from './reader';
export { CliGitReader, findRepoRoot, runGit, readWorktreeFile, parseCatFileBatch } from './cli';
export * from './repo';
export { CliGitRepo } from './cli-repo';
export { openRemote, remoteRepoId, redactUrl, type RemoteRef, type RemoteAuth, type OpenedRemote } from './remote';
export { pathMatch, validatePattern, BadPatternError } from './doublestar';
export * from './pathmatch';
