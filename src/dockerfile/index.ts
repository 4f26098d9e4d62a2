/**
 * Stapelkit's Dockerfile frontend: parser → typed instructions → dispatch → LLB State + OCI image
 * config, shaped like BuildKit's dockerfile2llb. Knows nothing about werf except the digest helper.
 *
 *   const { state, imageConfig, steps } = await compileDockerfile(text, { context, resolveImage, buildArgs, target, platform, caps });
 */
export { compileDockerfile, compileParsed, platformArgs, readDockerignore, type CompileOptions, type CompileResult, type ImageResolver, type ResolvedBase, type StepInfo } from './compile';
export { parseDockerfile, parseInstruction, type Dockerfile, type Instruction, type Stage } from './instructions';
export { parse as parseDockerfileAST, type Node, type ParseResult, type Pos, type Range, type Heredoc } from './parser/parser';
export { ShellLex, ShellError } from './parser/shell';
export { dockerfileStageDependencies, dockerfileStageDigest, sha256Hash, sha3_224Hash, type DockerfileDigestOptions } from './digest';
export { positionBuildError } from './errors';
