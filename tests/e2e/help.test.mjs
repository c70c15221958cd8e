// Help and habits: the man pages, the help, the parser and the bash
// completion agree (one table makes them all: this guards it); README's
// tables of variables agree with leaktrace-env(7); a slip of the fingers
// gets the nearest valid word; bad files are named; progress is shown on a
// terminal and nowhere else.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';

import { BUILD, LEAKTRACE, assertStatus, cleanEnv, header, layout, prog, run, tmpdir, traceFiles, tracedEnv } from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const lt = (args, opts) => run(LEAKTRACE, args, opts);

// The report formats, as analyzer/commands.h lists them (LT_FORMATS): the
// help, the parser and the completion take theirs from that list.
const commandsH = fs.readFileSync(path.join(ROOT, 'analyzer', 'commands.h'), 'utf8');
const FORMATS = [.../#define LT_FORMATS\(X\)([^]*?)\n\n/.exec(commandsH)[1].matchAll(/X\(\w+, "(\w+)"\)/g)].map((m) => m[1]);
const listed = (words) => words.slice(0, -1).join(', ') + ' or ' + words.at(-1);

/** Text of a man page with the font escapes dropped and \- made -. */
const plain = (s) => s.replace(/\\f[BIRP]/g, '').replace(/\\-/g, '-').replace(/\\&/g, '').replace(/\\e/g, '\\');

/** { command: Set of its options } from leaktrace(1): the .TP labels of each .SS section. */
function manOptions(man) {
  const out = {};
  let cmd = null;
  const lines = man.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const ss = /^\.SS "leaktrace (\S+)/.exec(lines[i]);
    if (ss) {
      cmd = ss[1];
      out[cmd] = new Set();
    } else if (/^\.SH /.test(lines[i])) {
      cmd = /^\.SH OPTIONS/.test(lines[i]) ? '' : null;
      if (cmd === '') out[''] = new Set();
    } else if (cmd !== null && lines[i] === '.TP' && /^\\fB\\-/.test(lines[i + 1])) {
      for (const m of plain(lines[i + 1]).matchAll(/(?:^|, )(--?[A-Za-z0-9][\w-]*)/g)) out[cmd].add(m[1]);
    }
  }
  return out;
}

/** The options that `leaktrace CMD --help` lists. */
function helpOptions(text) {
  const opts = new Set();
  const section = text.split('\nOptions:\n')[1] ?? '';
  for (const line of section.split('\n')) {
    const m = /^ {2}(-\w), (--[\w-]+)|^ {2}(--[\w-]+)/.exec(line);
    if (m) for (const o of [m[1], m[2], m[3]]) if (o) opts.add(o);
  }
  return opts;
}

const man = lt(['help', '--man']);
const manOpts = manOptions(man.stdout);
const commands = Object.keys(manOpts).filter((c) => c !== '');

test('the man pages the build wrote are those the command writes', () => {
  assertStatus(man);
  assert.equal(fs.readFileSync(path.join(BUILD, 'man', 'leaktrace.1'), 'utf8'), man.stdout);
  const env = lt(['help', '--man-env']);
  assertStatus(env);
  assert.equal(fs.readFileSync(path.join(BUILD, 'man', 'leaktrace-env.7'), 'utf8'), env.stdout);
  const comp = lt(['help', '--bash-completion']);
  assertStatus(comp);
  assert.equal(fs.readFileSync(path.join(BUILD, 'completions', 'leaktrace'), 'utf8'), comp.stdout);
});

test('every command of the help is in the man page, with the same options', () => {
  const top = lt(['--help']);
  assertStatus(top);
  const listed = [...top.stdout.split('\nCommands:\n')[1].split('\n\n')[0].matchAll(/^ {2}(\w+)/gm)].map((m) => m[1]);
  assert.deepEqual(listed, commands);
  assert.deepEqual(commands, ['run', 'report', 'attach', 'ctl', 'diff', 'check', 'timeline', 'help']);
  assert.deepEqual(helpOptions(top.stdout), manOpts['']);
  assert.deepEqual(manOpts[''], new Set(['-h', '--help', '-V', '--version']));
  for (const c of commands) {
    const h = lt([c, '--help']);
    assertStatus(h);
    assert.match(h.stdout, new RegExp(`^Usage: leaktrace ${c}\\b`));
    assert.equal(lt(['help', c]).stdout, h.stdout, `help ${c} is ${c} --help`);
    assert.deepEqual(helpOptions(h.stdout), manOpts[c], `${c}: --help and the man page`);
  }
  assert.deepEqual(manOpts.report, new Set(['--top', '--format', '-o', '--output', '--source-maps', '-h', '--help']));
  assert.deepEqual(manOpts.check,
    new Set(['--max-growth', '--max-live-timers', '--max-live', '--all-code', '--source-maps', '-h', '--help']));
});

test('every option of the man page is accepted, and an option it lacks is not', (t) => {
  const dir = tmpdir(t);
  for (const c of commands) {
    const lines = man.stdout.split('\n');
    for (const opt of manOpts[c]) {
      // Its label says whether it takes a value: \fIVALUE\fR after it.
      const label = lines.find((l) => l.startsWith('\\fB') && plain(l).split(/, | /).includes(opt) &&
        lines[lines.indexOf(l) - 1] === '.TP' && manSection(lines, lines.indexOf(l)) === c);
      const args = [c, opt];
      if (/\\fI/.test(label)) args.push('no-such-value');
      const r = lt(args, { cwd: dir });
      assert.doesNotMatch(r.stderr, /unknown option/, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(r.status === 0 || r.status === 2, `${args.join(' ')}: status ${r.status}`);
      if (opt === '-h' || opt === '--help') assert.equal(r.status, 0);
    }
    for (const bogus of ['--no-such-option', '-Q']) {
      const r = lt([c, bogus, 'x.lt'], { cwd: dir });
      assert.equal(r.status, 2, `${c} ${bogus}`);
      assert.equal(r.stderr, `leaktrace ${c}: unknown option '${bogus}' (see leaktrace ${c} --help)\n`);
    }
  }
});

/** The command whose .SS section holds line i of leaktrace(1). */
function manSection(lines, i) {
  for (let k = i; k >= 0; k--) {
    const ss = /^\.SS "leaktrace (\S+)/.exec(lines[k]);
    if (ss) return ss[1];
    if (/^\.SH OPTIONS/.test(lines[k])) return '';
  }
  return null;
}

test('options as getopt_long takes them: --name=value, -oVALUE, after the files, and -- ends them', (t) => {
  const dir = tmpdir(t);
  assertStatus(run(prog('deep'), [], { env: tracedEnv(dir) }));
  const [file] = traceFiles(dir);
  const want = lt(['report', '--format', 'json', '--top', '1', file], { cwd: dir });
  assertStatus(want);
  assert.match(want.stdout, /^\{"tool":"leaktrace"/);
  for (const args of [['report', '--format=json', '--top=1', file], ['report', file, '--top', '1', '--format', 'json']]) {
    const r = lt(args, { cwd: dir });
    assertStatus(r);
    assert.equal(r.stdout, want.stdout, args.join(' '));
  }
  assertStatus(lt(['report', '--format=json', `-o${dir}/r.json`, file], { cwd: dir }));
  assert.equal(fs.readFileSync(`${dir}/r.json`, 'utf8'), lt(['report', '--format', 'json', file], { cwd: dir }).stdout);
  const dd = lt(['report', '--', '--top'], { cwd: dir });
  assert.equal(dd.status, 2);
  assert.equal(dd.stderr, 'leaktrace: --top: cannot open: No such file or directory\n');
  const flag = lt(['report', '--help=yes'], { cwd: dir });
  assert.equal(flag.stderr, 'leaktrace report: --help takes no value (see leaktrace report --help)\n');
  const noval = lt(['run', '--paused=1', 'true'], { cwd: dir });
  assert.equal(noval.stderr, 'leaktrace run: --paused takes no value (see leaktrace run --help)\n');
});

test('a slip of the fingers gets the nearest valid word, and only a near one', () => {
  const cases = [
    [['reprot', 'x.lt'], "leaktrace: unknown command 'reprot'; did you mean 'report'? (see leaktrace --help)"],
    [['chekc'], "leaktrace: unknown command 'chekc'; did you mean 'check'? (see leaktrace --help)"],
    [['--verison'], "leaktrace: unknown option '--verison'; did you mean '--version'? (see leaktrace --help)"],
    [['help', 'timelin'], "leaktrace: no command 'timelin'; did you mean 'timeline'? (see leaktrace --help)"],
    [['report', '--formt', 'json', 'x.lt'], "leaktrace report: unknown option '--formt'; did you mean '--format'? (see leaktrace report --help)"],
    [['report', '-format', 'json', 'x.lt'], "leaktrace report: unknown option '-format'; did you mean '--format'? (see leaktrace report --help)"],
    [['report', '--form', 'json', 'x.lt'], "leaktrace report: unknown option '--form'; did you mean '--format'? (see leaktrace report --help)"],
    [['report', '--format', 'jsno', 'x.lt'], `leaktrace report: --format is ${listed(FORMATS)}, not 'jsno'; did you mean 'json'? (see leaktrace report --help)`],
    [['check', '--max-grwoth', '1K', 'x.lt'], "leaktrace check: unknown option '--max-grwoth'; did you mean '--max-growth'? (see leaktrace check --help)"],
    [['run', '--folow', 'all', 'true'], "leaktrace run: unknown option '--folow'; did you mean '--follow'? (see leaktrace run --help)"],
    [['run', '--follow', 'nodes', 'true'], "leaktrace run: --follow is node, all or none, not 'nodes'; did you mean 'node'? (see leaktrace run --help)"],
    [['diff', '--format', 'markdown', 'a', 'b'], "leaktrace diff: --format is text or json, not 'markdown' (see leaktrace diff --help)"],
    [['ctl', '1', 'snapshto'], "leaktrace ctl: unknown command 'snapshto'; did you mean 'snapshot'? (see leaktrace ctl --help)"],
    [['ctl', '1', 'frobnicate'], "leaktrace ctl: unknown command 'frobnicate': start, stop, snapshot, status or detach (see leaktrace ctl --help)"],
    [['frobnicate'], "leaktrace: unknown command 'frobnicate' (see leaktrace --help)"],
    [['report', '-x', 'x.lt'], "leaktrace report: unknown option '-x' (see leaktrace report --help)"],
    [['timeline', '--output'], "leaktrace timeline: --output wants a value (FILE) (see leaktrace timeline --help)"],
    [['ctl', '1', 'snapshot', 'a@b'], "leaktrace ctl: a snapshot name cannot hold '@' (diff reads FILE@NAME) (see leaktrace ctl --help)"],
    [['ctl', '1', 'snapshot', '3'], 'leaktrace ctl: a snapshot name cannot be a number (diff reads FILE@N as the Nth snapshot) (see leaktrace ctl --help)'],
  ];
  for (const [args, line] of cases) {
    const r = lt(args);
    assert.equal(r.status, 2, args.join(' '));
    assert.equal(r.stderr, line + '\n', args.join(' '));
  }
});

test('a file that is missing, a directory or not a trace is named, with what to do', (t) => {
  const dir = tmpdir(t);
  fs.mkdirSync(path.join(dir, 'empty'));
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a trace\n'.repeat(100));
  fs.mkdirSync(path.join(dir, 'two'));
  for (const f of ['leaktrace.1.lt', 'leaktrace.2.lt']) fs.writeFileSync(path.join(dir, 'two', f), 'x');
  // A FIFO named as a trace, in a directory anyone may write to: said, never
  // waited on (a writer that never comes would hold a CI gate forever).
  fs.mkdirSync(path.join(dir, 'fifo'));
  assertStatus(run('mkfifo', [path.join(dir, 'fifo', 'leaktrace.5.lt')]));
  const fifo = 'leaktrace: fifo/leaktrace.5.lt: not a regular file';
  const cases = [
    [['report', 'fifo'], fifo],
    [['check', 'fifo'], fifo],
    [['timeline', 'fifo', '-o', 'x.svg'], fifo],
    [['report', 'fifo/leaktrace.5.lt'], fifo],
    [['diff', 'fifo/leaktrace.5.lt', 'fifo/leaktrace.5.lt'], fifo],
    [['ctl', 'fifo/leaktrace.5.lt', 'status'], 'leaktrace: fifo/leaktrace.5.lt: not a trace file'],
    [['report', 'gone.lt'], 'leaktrace: gone.lt: cannot open: No such file or directory'],
    [['report', 'empty'], 'leaktrace: empty: no trace file (*.lt) in this directory'],
    [['report', 'notes.txt'], /^leaktrace: notes\.txt: .*not a leaktrace trace/],
    [['check', 'gone.lt'], 'leaktrace: gone.lt: cannot open: No such file or directory'],
    [['check', 'empty'], 'leaktrace: empty: no trace file (*.lt) in this directory'],
    [['check', 'notes.txt'], /^leaktrace: notes\.txt: .*not a leaktrace trace/],
    [['timeline', 'empty'], 'leaktrace: empty: no trace file (*.lt) in this directory'],
    [['timeline', 'notes.txt'], /^leaktrace: notes\.txt: .*not a leaktrace trace/],
    [['diff', 'gone.lt', 'notes.txt'], /^leaktrace: gone\.lt: /],
    [['diff', 'empty', 'empty'], 'leaktrace: empty: no trace file (*.lt) in this directory'],
    [['diff', 'two', 'notes.txt'], 'leaktrace: two: 2 trace files in this directory; name the one to compare'],
    [['ctl', 'gone.lt', 'status'], 'leaktrace: gone.lt: cannot open: No such file or directory'],
    [['ctl', 'empty', 'status'], 'leaktrace: empty: is a directory; give a pid or a trace file'],
    [['ctl', 'notes.txt', 'status'], /^leaktrace: notes\.txt: not a trace file/],
  ];
  for (const [args, want] of cases) {
    const r = lt(args, { cwd: dir });
    assert.equal(r.status, 2, args.join(' '));
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, `${args.join(' ')}: ${r.stderr}`);
    if (typeof want === 'string') assert.equal(lines[0], want, args.join(' '));
    else assert.match(lines[0], want, args.join(' '));
  }
});

test('ctl reads the header of both format versions, and refuses a later one', (t) => {
  // Copies of fuzz seeds of processes that exited: ctl gets as far as the
  // process (gone), which only a header it accepts does.
  const dir = tmpdir(t);
  const corpus = path.join(ROOT, 'fuzz', 'corpus');
  for (const v of [1, 2]) {
    const seed = fs.readdirSync(corpus).find((f) => f.startsWith(`seed-v${v}-deep-`));
    assert.ok(seed, `a seed of version ${v}`);
    const file = path.join(dir, `v${v}.lt`);
    fs.copyFileSync(path.join(corpus, seed), file);
    const h = header(file);
    assert.equal(h.version, v, `${seed}: version ${v}`);
    const r = lt(['ctl', file, 'status']);
    assert.equal(r.status, 2, `version ${v}`);
    assert.equal(r.stderr, `leaktrace: ${file}: process ${h.pid} has exited; report the file instead\n`, `version ${v}`);
    if (v === 2) {
      const buf = fs.readFileSync(file);
      buf.writeUInt32LE(3, layout().version.offset);
      fs.writeFileSync(file, buf);
      const later = lt(['ctl', file, 'status']);
      assert.equal(later.status, 2);
      assert.equal(later.stderr, `leaktrace: ${file}: not a trace file of this leaktrace\n`);
    }
  }
});

/** The man page's variables: { NAME: default }. */
function envVars(page) {
  const vars = {};
  const lines = page.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^\.B (LEAKTRACE_\w+)$/.exec(lines[i]);
    if (!m) continue;
    const d = lines.slice(i + 1, i + 6).find((l) => l.startsWith('Default: '));
    vars[m[1]] = plain(/^Default: (\\fB.*?\\fR)/.exec(d)[1]);
  }
  return vars;
}

test("leaktrace-env(7) lists every variable read, and README's tables agree with it", () => {
  const page = lt(['help', '--man-env']);
  assertStatus(page);
  const vars = envVars(page.stdout);
  // Every variable that a source reads by name.
  const read = new Set();
  for (const d of ['preload', 'analyzer'])
    for (const f of fs.readdirSync(path.join(ROOT, d)).filter((f) => f.endsWith('.c')))
      for (const m of fs.readFileSync(path.join(ROOT, d, f), 'utf8').matchAll(/getenv\("(LEAKTRACE_\w+)"\)/g)) read.add(m[1]);
  const js = fs.readFileSync(path.join(ROOT, 'node', 'leaktrace.js'), 'utf8');
  for (const m of js.matchAll(/\['\w+', '(LEAKTRACE_\w+)'/g)) read.add(m[1]);
  const options = fs.readFileSync(path.join(ROOT, 'include', 'leaktrace', 'options.h'), 'utf8');
  for (const m of options.matchAll(/^\s+X\(\w+, "(\w+)", (?:INT|BOOL|STR)/gm)) read.add(`LEAKTRACE_${m[1]}`);
  for (const v of ['LEAKTRACE_DIR', 'LEAKTRACE_JS', 'LEAKTRACE_JS_MODULE', 'LEAKTRACE_JS_GC', 'LEAKTRACE_PRELOAD'])
    assert.ok(read.has(v), `${v} found in the sources`);
  for (const v of read) assert.ok(v in vars, `${v} is read but not in leaktrace-env(7)`);
  assert.equal(vars.LEAKTRACE_DEPTH, '64');
  assert.equal(vars.LEAKTRACE_DIR, '.');

  // README: every row of its tables of variables.
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const rows = {};
  for (const m of readme.matchAll(/^\| `(LEAKTRACE_\w+)` \| ([^|]+) \|/gm)) rows[m[1]] = m[2].replace(/`/g, '').trim();
  assert.ok(Object.keys(rows).length >= 15, 'README has its tables');
  for (const [v, def] of Object.entries(rows)) {
    assert.ok(v in vars, `README's ${v} is not in leaktrace-env(7)`);
    assert.ok(def.startsWith(vars[v]), `${v}: README says ${def}, the man page ${vars[v]}`);
  }
  // Those of the preload and the node module, for users, are in README.
  const section = (name) => page.stdout.split(`.SH ${name}\n`)[1].split('\n.SH ')[0];
  for (const s of ['THE PRELOAD', 'THE NODE MODULE'])
    for (const v of Object.keys(envVars(section(s)))) assert.ok(v in rows, `${v} is missing from README`);
});

/** What the completion offers for the words, the last being completed. */
function complete(words, cwd) {
  const script = path.join(BUILD, 'completions', 'leaktrace');
  const quoted = words.map((w) => `'${w}'`).join(' ');
  const r = spawnSync('bash', ['--norc', '-c',
    `source '${script}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _leaktrace; printf '%s\\n' "\${COMPREPLY[@]}"`],
  { cwd, encoding: 'utf8', env: cleanEnv() });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  return r.stdout.split('\n').filter(Boolean).sort();
}

test('bash completion: commands, options, formats, trace files', (t) => {
  const dir = tmpdir(t);
  for (const f of ['a.lt', 'b.lt', 'notes.txt']) fs.writeFileSync(path.join(dir, f), '');
  fs.mkdirSync(path.join(dir, 'traces'));
  assert.deepEqual(complete(['leaktrace', ''], dir), [...commands].sort());
  assert.deepEqual(complete(['leaktrace', 're'], dir), ['report']);
  assert.deepEqual(complete(['leaktrace', '-'], dir), ['--help', '--version', '-V', '-h']);
  for (const c of commands)
    assert.deepEqual(new Set(complete(['leaktrace', c, '-'], dir)), manOpts[c], `options of ${c}`);
  assert.deepEqual(complete(['leaktrace', 'report', '--f'], dir), ['--format']);
  assert.ok(FORMATS.length >= 6 && FORMATS.includes('html'), `formats of commands.h: ${FORMATS}`);
  assert.deepEqual(complete(['leaktrace', 'report', '--format', ''], dir), [...FORMATS].sort());
  assert.deepEqual(complete(['leaktrace', 'report', '--format', '=', 'm'], dir), ['markdown']);
  assert.deepEqual(complete(['leaktrace', 'report', '--top', '5', ''], dir), ['a.lt', 'b.lt', 'traces']);
  assert.deepEqual(complete(['leaktrace', 'report', '-o', 'n'], dir), ['notes.txt']);
  assert.deepEqual(complete(['leaktrace', 'diff', 'a.lt', ''], dir), ['a.lt', 'b.lt', 'traces']);
  assert.deepEqual(complete(['leaktrace', 'diff', '--format', ''], dir), ['json', 'text']);
  assert.deepEqual(complete(['leaktrace', 'run', '--follow', ''], dir), ['all', 'node', 'none']);
  assert.deepEqual(complete(['leaktrace', 'run', '-o', ''], dir), ['traces']);
  assert.ok(complete(['leaktrace', 'run', '-o', 'traces', 'nod'], dir).includes('node'), 'run: a program');
  assert.deepEqual(complete(['leaktrace', 'run', 'ls', '--fo'], dir).filter((w) => w === '--format'), [],
    "run: the program's options are not run's");
  assert.deepEqual(complete(['leaktrace', 'ctl', ''], dir), ['a.lt', 'b.lt', 'traces']);
  assert.deepEqual(complete(['leaktrace', 'ctl', 'a.lt', 's'], dir), ['snapshot', 'start', 'status', 'stop']);
  assert.deepEqual(complete(['leaktrace', 'help', 't'], dir), ['timeline']);
});

/** Runs a shell command with a terminal on stdin, stdout and stderr (script(1)); returns all it wrote there. */
function onTerminal(command, env, cwd) {
  const r = spawnSync('script', ['-qec', command, '/dev/null'], { env, cwd, encoding: 'utf8', timeout: 120000 });
  assert.equal(r.error, undefined);
  return r;
}

test('progress on a terminal, and none elsewhere', (t) => {
  const dir = tmpdir(t);
  assertStatus(run(prog('many_sites'), [], { env: tracedEnv(dir) }));
  const [file] = traceFiles(dir);
  const env = cleanEnv({ TERM: 'xterm' });
  delete env.CI;

  // A report of 2048 stacks on a terminal: counted, then the line cleared.
  const tty = onTerminal(`'${LEAKTRACE}' report --top 1 ${file} > report.txt`, env, dir);
  assert.equal(tty.status, 0, tty.stdout);
  assert.ok(tty.stdout.startsWith(`\rleaktrace: ${file}: symbolizing stack 0/2048\x1b[K`), JSON.stringify(tty.stdout));
  assert.ok(tty.stdout.endsWith('\r\x1b[K'), JSON.stringify(tty.stdout));
  const plainRun = lt(['report', '--top', '1', file], { cwd: dir, env });
  assertStatus(plainRun);
  assert.equal(plainRun.stderr, '', 'no progress off a terminal');
  assert.equal(fs.readFileSync(path.join(dir, 'report.txt'), 'utf8'), plainRun.stdout, 'the report is the same');
  for (const quiet of [{ CI: 'true' }, { TERM: 'dumb' }]) {
    const r = onTerminal(`'${LEAKTRACE}' report --top 1 ${file} > /dev/null`, { ...env, ...quiet }, dir);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, '', JSON.stringify(quiet));
  }

  // run says where the traces go, and how to report them again.
  const out = path.join(dir, 'out');
  const deep = prog('deep');
  const r = onTerminal(`'${LEAKTRACE}' run --no-report -o ${out} -- ${deep} > /dev/null`, env, dir);
  assert.equal(r.status, 0, r.stdout);
  const [trace] = traceFiles(out);
  assert.deepEqual(r.stdout.split('\r\n').filter(Boolean), [
    `leaktrace: tracing ${deep}; trace files go to ${out}`,
    `leaktrace: trace of pid ${trace.split('.')[1]} written to ${out}/${trace}`,
    `leaktrace: to report again: leaktrace report ${out}/${trace}; a page to explore them: add --format html -o report.html`,
  ]);
  const quiet = lt(['run', '--no-report', '-o', out, '--', deep], { cwd: dir, env });
  assertStatus(quiet);
  assert.match(quiet.stderr, /^leaktrace: trace of pid \d+ written to .*\n$/, 'off a terminal: the one line as before');
});

test('run --report-to FILE: the report in the file, what the program says on stderr apart', (t) => {
  const dir = tmpdir(t);
  const deep = path.join(BUILD, 'tests', 'deep');
  const r = lt(['run', '--format', 'json', '--report-to', 'r.json', '-o', dir, '--', deep], { cwd: dir });
  assertStatus(r);
  assert.match(r.stderr, /\nleaktrace: report written to r\.json\n$/);
  const rep = JSON.parse(fs.readFileSync(path.join(dir, 'r.json'), 'utf8'));
  assert.deepEqual([rep.summary.live_bytes, rep.summary.live_blocks], [4242, 1]);
  // The trace file is no place for it.
  const file = fs.readdirSync(dir).find((f) => f.endsWith('.lt'));
  const clash = lt(['report', '-o', file, file], { cwd: dir });
  assert.equal(clash.status, 2);
  assert.equal(clash.stderr, `leaktrace: ${file}: is a trace file being reported; write the report elsewhere\n`);
  assertStatus(lt(['report', file], { cwd: dir }));
});

test('ctl of a process whose trace file was deleted says so, and that nothing is left', async (t) => {
  const dir = tmpdir(t);
  const sub = path.join(dir, 'traces');
  fs.mkdirSync(sub);
  const { spawn } = await import('node:child_process');
  const child = spawn('/bin/sleep', ['30'], { env: tracedEnv(sub), cwd: dir, stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  // Mapped, and answering: ctl finds it.
  const deadline = Date.now() + 10000;
  while (lt(['ctl', String(child.pid), 'status']).status !== 0 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  const file = path.join(sub, fs.readdirSync(sub).find((f) => f.endsWith('.lt')));
  fs.rmSync(sub, { recursive: true });
  const r = lt(['ctl', String(child.pid), 'status']);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, `leaktrace: process ${child.pid}: its trace file ${file} was deleted; there is nothing left to control or report\n`);
});

test('output that cannot be written is said with its reason, and fails', (t) => {
  const dir = tmpdir(t);
  const deep = path.join(BUILD, 'tests', 'deep');
  assertStatus(lt(['run', '-o', dir, '--', deep], { cwd: dir }));
  const file = fs.readdirSync(dir).find((f) => f.endsWith('.lt'));
  // Standard output on a full device: what each command writes there.
  const full = fs.openSync('/dev/full', 'w');
  t.after(() => fs.closeSync(full));
  const toFull = (args) => {
    const r = spawnSync(LEAKTRACE, args, { cwd: dir, env: cleanEnv(), stdio: ['ignore', full, 'pipe'], encoding: 'utf8' });
    return { status: r.status, stderr: r.stderr };
  };
  const nospace = 'No space left on device';
  const cases = [
    [['report', file], `leaktrace: cannot write the report to standard output: ${nospace}\n`],
    [['report', '--format', 'json', file], `leaktrace: cannot write the report to standard output: ${nospace}\n`],
    [['diff', file, file], `leaktrace: cannot write the diff to standard output: ${nospace}\n`],
    [['timeline', file], `leaktrace: cannot write the chart to standard output: ${nospace}\n`],
    [['help', 'report'], `leaktrace: cannot write to standard output: ${nospace}\n`],
    [['--help'], `leaktrace: cannot write to standard output: ${nospace}\n`],
    [['--version'], `leaktrace: cannot write to standard output: ${nospace}\n`],
    [['help', '--man'], `leaktrace: cannot write to standard output: ${nospace}\n`],
  ];
  for (const [args, want] of cases) assert.deepEqual(toFull(args), { status: 2, stderr: want }, args.join(' '));
  // A file named with -o.
  const r = lt(['report', '-o', '/dev/full', file], { cwd: dir });
  assert.deepEqual([r.status, r.stderr], [2, `leaktrace: cannot write the report to /dev/full: ${nospace}\n`]);
  const tl = lt(['timeline', '-o', '/dev/full', file], { cwd: dir });
  assert.deepEqual([tl.status, tl.stderr], [2, `leaktrace: cannot write /dev/full: ${nospace}\n`]);
});

test('run -o a directory the preload would refuse: said before the program starts, status 2', (t) => {
  const dir = tmpdir(t);
  const open = path.join(dir, 'open');
  fs.mkdirSync(open);
  fs.chmodSync(open, 0o777);
  const r = lt(['run', '-o', open, '--', path.join(BUILD, 'tests', 'deep')], { cwd: dir });
  assert.deepEqual([r.status, r.stdout, r.stderr], [2, '',
    `leaktrace: ${open} is writable by anyone and not sticky: another user could replace a trace; give -o ` +
    'a directory of yours, or make it sticky (chmod +t)\n']);
  fs.chmodSync(open, 0o1777);
  assertStatus(lt(['run', '-o', open, '--no-report', '--', path.join(BUILD, 'tests', 'deep')], { cwd: dir }));
  assert.equal(traceFiles(open).length, 1, 'sticky, like /tmp: traced');
  // A report file that could not be written after the run: said before it.
  const lost = lt(['run', '-o', open, '--report-to', path.join(dir, 'gone', 'r.txt'), '--', 'touch', 'ran'], { cwd: dir });
  assert.deepEqual([lost.status, lost.stderr],
    [2, `leaktrace: cannot write the report to ${path.join(dir, 'gone', 'r.txt')}: No such file or directory\n`]);
  assert.ok(!fs.existsSync(path.join(dir, 'ran')), 'the program did not run');
  const empty = lt(['run', '-o', '', '--', 'true'], { cwd: dir });
  assert.deepEqual([empty.status, empty.stderr], [2, 'leaktrace run: -o wants a directory, not an empty name (see leaktrace run --help)\n']);
});
