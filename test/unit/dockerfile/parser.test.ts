/**
 * Parser table: each case is a Dockerfile and the nodes BuildKit's parser makes of it, written as
 * `<start line>-<end line>:<col> <cmd> [flags] <rest>` (+ ` <<name:content` per heredoc). Expected
 * values follow BuildKit frontend/dockerfile/parser behaviour (parser_test.go, testfiles).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, type Node } from '../../../src/dockerfile/parser/parser';

const t = suite('dockerfile parser table');

function show(n: Node): string {
  let s = `${n.range.start.line}-${n.range.end.line}:${n.range.start.column} ${n.cmd}`;
  if (n.flags.length) s += ` [${n.flags.map((f) => `${f.text}@${f.pos.line}:${f.pos.column}`).join(' ')}]`;
  s += ` ${JSON.stringify(n.rest)}`;
  for (const h of n.heredocs) s += ` <<${h.chomp ? '-' : ''}${h.name}${h.expand ? '' : '(q)'}${h.fileDescriptor ? '#' + h.fileDescriptor : ''}:${JSON.stringify(h.content)}`;
  return s;
}

const cases: [string, string, string[]][] = [
  // basics
  ['single instruction', 'FROM busybox\n', ['1-1:1 from "busybox"']],
  ['no final newline', 'FROM busybox', ['1-1:1 from "busybox"']],
  ['lower-case instruction', 'from busybox\nrun echo hi', ['1-1:1 from "busybox"', '2-2:1 run "echo hi"']],
  ['leading whitespace gives the column', '   RUN  echo', ['1-1:4 run "echo"']],
  ['trailing whitespace trimmed', 'RUN echo hi   \t', ['1-1:1 run "echo hi"']],
  ['CRLF line endings', 'FROM a\r\nRUN b\r\n', ['1-1:1 from "a"', '2-2:1 run "b"']],
  ['BOM is stripped', '\uFEFFFROM a', ['1-1:1 from "a"']],
  ['blank lines skipped', '\n\nFROM a\n\n\nRUN b\n', ['3-3:1 from "a"', '6-6:1 run "b"']],
  ['instruction without args', 'FROM a\nRUN', ['1-1:1 from "a"', '2-2:1 run ""']],
  ['tabs between name and args', 'RUN\t\techo', ['1-1:1 run "echo"']],
  ['inner whitespace kept', 'RUN echo   a    b', ['1-1:1 run "echo   a    b"']],
  ['unknown instruction is kept for the instruction layer', 'FOO bar', ['1-1:1 foo "bar"']],
  // comments
  ['comment lines skipped', '# hello\nFROM a\n# world\nRUN b', ['2-2:1 from "a"', '4-4:1 run "b"']],
  ['indented comment', '   # hello\nFROM a', ['2-2:1 from "a"']],
  ['hash inside a line is not a comment', 'RUN echo # not a comment', ['1-1:1 run "echo # not a comment"']],
  ['comment inside a continuation', 'RUN echo a \\\n# comment\n  b', ['1-3:1 run "echo a   b"']],
  ['indented comment inside a continuation', 'RUN a \\\n    # c\n    b', ['1-3:1 run "a     b"']],
  ['several comments inside a continuation', 'RUN a \\\n# 1\n# 2\n#3\nb', ['1-5:1 run "a b"']],
  ['comment ends a continuation at EOF', 'RUN a \\\n# c', ['1-1:1 run "a"']],
  // continuations
  ['simple continuation', 'RUN a \\\nb', ['1-2:1 run "a b"']],
  ['continuation keeps leading whitespace of next line', 'RUN a\\\n   b', ['1-2:1 run "a   b"']],
  ['continuation with trailing blanks after backslash', 'RUN a \\  \t\nb', ['1-2:1 run "a b"']],
  ['many continuations', 'RUN a \\\nb \\\nc \\\nd', ['1-4:1 run "a b c d"']],
  ['continuation at EOF', 'RUN a \\', ['1-1:1 run "a"']],
  ['continuation then blank at EOF', 'RUN a \\\n', ['1-1:1 run "a"']],
  ['empty continuation line', 'RUN a \\\n\nb', ['1-3:1 run "a b"']],
  ['whitespace-only continuation line', 'RUN a \\\n   \t\nb', ['1-3:1 run "a b"']],
  ['empty continuation lines and comments mixed', 'RUN a \\\n\n# x\n\nb \\\n\nc', ['1-7:1 run "a b c"']],
  ['escaped backslash at end still continues', 'RUN a \\\\\nb', ['1-2:1 run "a \\\\b"']],
  ['backslash inside a line is kept', 'RUN echo a\\ b', ['1-1:1 run "echo a\\\\ b"']],
  ['continuation of FROM', 'FROM \\\n busybox \\\n AS b', ['1-3:1 from "busybox  AS b"']],
  ['continuation with CRLF', 'RUN a \\\r\nb\r\n', ['1-2:1 run "a b"']],
  ['instruction name on its own line', 'RUN \\\n echo', ['1-2:1 run "echo"']],
  // escape directive
  ['backtick escape', '# escape=`\nRUN a `\nb', ['2-3:1 run "a b"']],
  ['backtick escape keeps backslashes', '# escape=`\nRUN dir c:\\\nRUN b', ['2-2:1 run "dir c:\\\\"', '3-3:1 run "b"']],
  ['escape directive with spaces', '#  escape = `  \nRUN a `\nb', ['2-3:1 run "a b"']],
  ['escape directive upper case', '# ESCAPE=`\nRUN a `\nb', ['2-3:1 run "a b"']],
  ['escape after a blank line is a comment', '\n# escape=`\nRUN a `\nb', ['3-3:1 run "a `"', '4-4:1 b ""']],
  ['escape after an instruction is a comment', 'FROM a\n# escape=`\nRUN a `', ['1-1:1 from "a"', '3-3:1 run "a `"']],
  ['escape after another comment is a comment', '# hello\n# escape=`\nRUN a `', ['3-3:1 run "a `"']],
  ['escape after syntax directive', '# syntax=docker/dockerfile:1\n# escape=`\nRUN a `\nb', ['3-4:1 run "a b"']],
  ['unknown directive ends directives', '# foo=bar\n# escape=`\nRUN a `', ['3-3:1 run "a `"']],
  // flags
  ['one flag', 'COPY --from=a /x /y', ['1-1:1 copy [--from=a@1:6] "/x /y"']],
  ['two flags', 'RUN --mount=type=cache,target=/c --network=none make', ['1-1:1 run [--mount=type=cache,target=/c@1:5 --network=none@1:34] "make"']],
  ['quoted flag value', 'COPY --chown="a b" x y', ['1-1:1 copy [--chown=a b@1:6] "x y"']],
  ['single-quoted flag', "COPY --chown='1:2' x y", ['1-1:1 copy [--chown=1:2@1:6] "x y"']],
  ['escaped char in flag', 'COPY --chown=a\\ b x y', ['1-1:1 copy [--chown=a b@1:6] "x y"']],
  ['double dash ends flags (the rest starts at the blank, as in Go)', 'RUN -- --not-a-flag', ['1-1:1 run " --not-a-flag"']],
  ['single dash is an argument', 'RUN -x', ['1-1:1 run "-x"']],
  ['bool flag', 'COPY --link a b', ['1-1:1 copy [--link@1:6] "a b"']],
  ['flag on a continuation line', 'RUN \\\n  --network=host \\\n  echo', ['1-3:1 run [--network=host@2:3] "echo"']],
  ['flags only', 'RUN --network=host', ['1-1:1 run [--network=host@1:5] ""']],
  ['flag column after indentation', '  COPY  --from=b  a b', ['1-1:3 copy [--from=b@1:9] "a b"']],
  ['empty quoted flag kept', 'COPY --chown="" a b', ['1-1:1 copy [--chown=@1:6] "a b"']],
  // JSON forms (rest is kept; the instruction layer decides)
  ['JSON form kept as rest', 'CMD ["a", "b"]', ['1-1:1 cmd "[\\"a\\", \\"b\\"]"']],
  ['JSON across continuation', 'CMD ["a", \\\n "b"]', ['1-2:1 cmd "[\\"a\\",  \\"b\\"]"']],
  // heredocs
  ['RUN heredoc', 'RUN <<EOF\necho hi\nEOF\n', ['1-3:1 run "<<EOF" <<EOF:"echo hi\\n"']],
  ['heredoc chomp', 'RUN <<-EOF\n\techo hi\n\tEOF\n', ['1-3:1 run "<<-EOF" <<-EOF:"\\techo hi\\n"']],
  ['heredoc terminator must match exactly', 'RUN <<EOF\n EOF\nEOF', ['1-3:1 run "<<EOF" <<EOF:" EOF\\n"']],
  ['quoted heredoc name does not expand', 'RUN <<"EOF"\n$x\nEOF', ['1-3:1 run "<<\\"EOF\\"" <<EOF(q):"$x\\n"']],
  ["single-quoted heredoc name", "RUN <<'EOF'\n$x\nEOF", ['1-3:1 run "<<\'EOF\'" <<EOF(q):"$x\\n"']],
  ['two heredocs on one line', 'RUN cat <<A <<B\na\nA\nb\nB\n', ['1-5:1 run "cat <<A <<B" <<A:"a\\n" <<B:"b\\n"']],
  ['COPY heredoc', 'COPY <<EOF /f\nhello\nEOF', ['1-3:1 copy "<<EOF /f" <<EOF:"hello\\n"']],
  ['heredoc with fd', 'RUN 3<<EOF cat /dev/fd/3\nx\nEOF', ['1-3:1 run "3<<EOF cat /dev/fd/3" <<EOF#3:"x\\n"']],
  ['heredoc empty body', 'RUN <<EOF\nEOF', ['1-2:1 run "<<EOF" <<EOF:""']],
  ['heredoc keeps blank and comment lines', 'RUN <<EOF\n\n# c\nx \\\nEOF', ['1-5:1 run "<<EOF" <<EOF:"\\n# c\\nx \\\\\\n"']],
  ['heredoc followed by instructions', 'RUN <<EOF\na\nEOF\nRUN b', ['1-3:1 run "<<EOF" <<EOF:"a\\n"', '4-4:1 run "b"']],
  ['heredoc redirect in command', 'RUN cat <<EOF > /f\nx\nEOF', ['1-3:1 run "cat <<EOF > /f" <<EOF:"x\\n"']],
  ['heredoc after continuation', 'RUN --network=none \\\n  cat <<EOF\nx\nEOF', ['1-4:1 run [--network=none@1:5] "cat <<EOF" <<EOF:"x\\n"']],
  ['no heredoc in ENV', 'ENV a=<<EOF\nRUN b', ['1-1:1 env "a=<<EOF"', '2-2:1 run "b"']],
  ['<< alone is not a heredoc', 'RUN echo <<\nRUN b', ['1-1:1 run "echo <<"', '2-2:1 run "b"']],
  ['<<< is not a heredoc', 'RUN cat <<<x\nRUN b', ['1-1:1 run "cat <<<x"', '2-2:1 run "b"']],
  ['quoted << is not a heredoc', 'RUN echo "<<EOF"\nRUN b', ['1-1:1 run "echo \\"<<EOF\\""', '2-2:1 run "b"']],
  ['heredoc chomp terminator with tabs', 'COPY <<-X /a\n\t\tline\n\t\tX\n', ['1-3:1 copy "<<-X /a" <<-X:"\\t\\tline\\n"']],
  ['unset variable as heredoc name: no heredoc (Go expands it to empty)', 'RUN <<$E\nx', ['1-1:1 run "<<$E"', '2-2:1 x ""']],
  // positions for multi-instruction files
  ['range of a multi-line instruction', 'FROM a\nRUN x \\\n  y \\\n  z\nUSER u', ['1-1:1 from "a"', '2-4:1 run "x   y   z"', '5-5:1 user "u"']],
  ['ONBUILD keeps rest', 'ONBUILD RUN echo hi', ['1-1:1 onbuild "RUN echo hi"']],
  ['ONBUILD with flags on the trigger', 'ONBUILD COPY --from=a x y', ['1-1:1 onbuild "COPY --from=a x y"']],
  ['HEALTHCHECK flags', 'HEALTHCHECK --interval=5s CMD true', ['1-1:1 healthcheck [--interval=5s@1:13] "CMD true"']],
  ['only comments', '# a\n# b\n', []],
  ['empty file', '', []],
];

for (const [name, input, expected] of cases) {
  t(name, () => {
    assert.equal(parse(input).nodes.map(show), expected);
  });
}

t('directives are recorded', () => {
  const r = parse('# syntax=docker/dockerfile:1.4\n# escape=`\nFROM a');
  assert.equal(r.directives.syntax.value, 'docker/dockerfile:1.4');
  assert.is(r.escapeToken, '`');
  assert.is(r.directives.syntax.line, 1);
});

t('duplicate directive is an error', () => {
  assert.throws(() => parse('# escape=`\n# escape=\\\nFROM a'), /only one escape parser directive/);
});

t('bad escape token is an error', () => {
  assert.throws(() => parse('# escape=x\nFROM a'), /invalid escape token 'x'/);
});

t('empty continuation lines warn', () => {
  const r = parse('RUN a \\\n\nb');
  assert.is(r.warnings.length, 1);
  assert.match(r.warnings[0].message, /Empty continuation line/);
});

t('unterminated heredoc names file, line and instruction', () => {
  try {
    parse('FROM a\nRUN <<EOF\necho\n', { file: 'app/Dockerfile' });
    assert.unreachable();
  } catch (e) {
    const err = e as { format(): string };
    assert.match(err.format(), /^app\/Dockerfile:2:1: unterminated heredoc "EOF".*: RUN <<EOF/);
  }
});

t('comments before an instruction are attached', () => {
  const r = parse('# first\n# second\nRUN a');
  assert.equal(r.nodes[0].comments, ['first', 'second']);
});

t.run();
