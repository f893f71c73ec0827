// The notebook's networks in TensorFlow.js 4.22, timed the way src/train/bench.rs times
// ours: batch 64, plain SGD, cross-entropy; the first step alone (kernel compilation), a few
// warm-up steps, then timed steps ended by one read back, so the device is never idle
// waiting for JavaScript. Driven by tests/e2e/bench-tfjs.mjs.
// (In Node, under tests/dawn/bench.mjs, there is no wasm backend to point at its files.)
if (tf.wasm) tf.wasm.setWasmPaths('node_modules/@tensorflow/tfjs-backend-wasm/dist/');

function network(kind) {
  const m = tf.sequential();
  if (kind === 'linear') {
    m.add(tf.layers.flatten({ inputShape: [28, 28, 1] }));
    m.add(tf.layers.dense({ units: 10 }));
    return m;
  }
  // VGG-like: conv32-conv32-pool-conv64-conv64-pool-dense512-dense10, 3x3 valid, relu.
  m.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: 'relu' }));
  m.add(tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }));
  m.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 512, activation: 'relu' }));
  m.add(tf.layers.dense({ units: 10 }));
  return m;
}

window.measure = async (backend, kind, batch = 64, warmup = 3, timed = 20) => {
  await tf.setBackend(backend);
  await tf.ready();
  const model = network(kind);
  const optimizer = tf.train.sgd(0.01);
  const x = tf.randomNormal([batch, 28, 28, 1]);
  const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32'), 10);
  const step = () => optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true })), true);
  const run = async (n) => {
    let loss;
    for (let i = 0; i < n; i++) {
      if (loss) loss.dispose();
      loss = step();
    }
    await loss.data();
    loss.dispose();
  };
  let t = performance.now();
  await run(1);
  const firstMs = performance.now() - t;
  await run(warmup);
  t = performance.now();
  await run(timed);
  const ms = (performance.now() - t) / timed;
  model.dispose();
  optimizer.dispose();
  x.dispose();
  y.dispose();
  return { backend, kind, firstMs, ms, timed };
};
