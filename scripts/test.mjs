// `npm test` and `npm run test:long`: vitest (arguments as for `vitest run`), with the test
// processes' stderr passed through a filter that drops Dawn's own adapter notices.
//
// Every test process that opens a Vulkan adapter through the `webgpu` package (the GPU tests,
// on lavapipe here) gets two "Warning: maxDynamic...BuffersPerPipelineLayout artificially
// reduced" lines from Dawn's C++ (fprintf to the process's stderr; no option of the package
// routes them). The library never writes them itself, test/quiet.test.ts checks what a user's
// process sees; here they would only bury the report. Everything else on stderr passes.
//
//   node scripts/test.mjs [--long] [vitest options and file filters]
//   --long: the long cases (test/long/, the 100000-row shapes of the case tables: vitest.config.ts)
import { Writable } from 'node:stream';
import { parseCLI, startVitest } from 'vitest/node';

/** Dawn's lines, exactly: anything that differs is shown. */
const DAWN_ADAPTER_LINE = /^Warning: maxDynamic(Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.\r?$/;

/** A stream to `target` that holds partial lines and leaves out the lines `drop` matches. */
function lineFilter(target, drop) {
  let pending = '';
  let dropped = 0;
  const stream = new Writable({
    write(chunk, _encoding, done) {
      const text = pending + chunk.toString();
      const lines = text.split('\n');
      pending = lines.pop();
      const kept = lines.filter((line) => (drop.test(line) ? (dropped++, false) : true));
      if (kept.length) target.write(kept.map((line) => `${line}\n`).join(''));
      done();
    },
    final(done) {
      if (pending && !drop.test(pending)) target.write(pending);
      done();
    },
  });
  // vitest asks its streams whether they are terminals (colours, progress).
  stream.isTTY = target.isTTY;
  stream.columns = target.columns;
  stream.getColorDepth = () => (target.getColorDepth ? target.getColorDepth() : 1);
  stream.hasColors = (...args) => (target.hasColors ? target.hasColors(...args) : false);
  return { stream, dropped: () => dropped };
}

const args = process.argv.slice(2);
const long = args.includes('--long');
if (long) process.env.HYBRID_SIMILARITY_LONG_TESTS = '1';
const { filter, options } = parseCLI(['vitest', 'run', ...args.filter((a) => a !== '--long')]);
const stderr = lineFilter(process.stderr, DAWN_ADAPTER_LINE);
const vitest = await startVitest('test', filter, { ...options, run: true, watch: false }, undefined, { stderr: stderr.stream });
if (!vitest.shouldKeepServer()) await vitest.exit();
