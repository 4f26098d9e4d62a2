export * from './reader';
export { CliGitReader, findRepoRoot, runGit, readWorktreeFile, parseCatFileBatch } from './cli';
