import { createHybrid } from '/work/main/dist/index.js';
import { create } from 'webgpu';
const hs = await createHybrid({ gpu: create([]) });
console.log('created');
const D = 17, N = 1003;
const v = new Float32Array(N * D).map(() => Math.random() * 2 - 1);
const q = new Float32Array(D).map(() => Math.random() * 2 - 1);
const idx = await hs.createIndex(v, { dim: D });
console.log('index');
try { const sb = await idx.scores(q, { backend: 'gpu' }); console.log('scores', sb.slice(0, 3)); } catch (e) { console.log('ERR', e); }
await hs.dispose();
