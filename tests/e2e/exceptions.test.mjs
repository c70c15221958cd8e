// C++ exceptions: thousands thrown and caught through frames that own
// strings and vectors. Under the tracer the program must behave exactly as
// without it, and C++ unwinding must still go to libgcc_s: Debian's
// libunwind.so.8 also exports the _Unwind_* functions, and an unversioned
// reference that bound to it would put exceptions on a different unwinder.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { assertStatus, prog, run, tmpdir, tracedEnv } from './lib.mjs';

const EXCEPTIONS = prog('exceptions');

test('same output with and without the tracer', (t) => {
  const dir = tmpdir(t);
  const plain = run(EXCEPTIONS, []);
  assertStatus(plain);
  assert.match(plain.stdout, /^runtime_error 5000, Custom 1666, int 5000, none 8334\ndigest [0-9a-f]{16}\n$/);
  const traced = run(EXCEPTIONS, [], { env: tracedEnv(dir), cwd: dir });
  assertStatus(traced);
  assert.equal(traced.stdout, plain.stdout);
});

test('LD_DEBUG=bindings: the _Unwind_* functions bind to libgcc_s, not libunwind', (t) => {
  const dir = tmpdir(t);
  const r = run(EXCEPTIONS, [], { env: tracedEnv(dir, { LD_DEBUG: 'bindings' }), cwd: dir });
  assertStatus(r);
  const plain = run(EXCEPTIONS, []);
  assert.equal(r.stdout, plain.stdout);

  // "binding file FROM [0] to TO [0]: normal symbol `NAME' [VERSION]"
  const re = /binding file (\S+) \[\d+\] to (\S+) \[\d+\]: \w+ symbol `(_Unwind_\w+)'/;
  const bindings = r.stderr.split('\n').map((l) => re.exec(l)).filter(Boolean)
    .map(([text, from, to, symbol]) => ({ text: text.trim(), from: path.basename(from), to: path.basename(to), symbol }));
  const shown = bindings.map((b) => '  ' + b.text).join('\n') || '  (none)';

  const libgcc = (b) => /^libgcc_s\.so/.test(b.to);
  const throws = bindings.filter((b) => b.symbol === '_Unwind_RaiseException' && /^libstdc\+\+\.so/.test(b.from));
  assert.ok(throws.length > 0, `__cxa_throw's _Unwind_RaiseException bound from libstdc++:\n${shown}`);
  const resume = bindings.filter((b) => b.symbol === '_Unwind_Resume' && b.from === path.basename(EXCEPTIONS));
  assert.ok(resume.length > 0, `the program's landing pads bind _Unwind_Resume:\n${shown}`);
  // Whatever the tracer and libunwind themselves use is their business;
  // every other reference must reach libgcc_s.
  const others = bindings.filter((b) => !/^(libunwind|libleaktrace)/.test(b.from));
  const wrong = others.filter((b) => !libgcc(b));
  assert.deepEqual(wrong.map((b) => b.text), [], `_Unwind_* bound elsewhere than libgcc_s:\n${shown}`);
});
