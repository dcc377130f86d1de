import { readFileSync } from 'fs';
import { join } from 'path';

import {
  HELLO,
  parseKernelMessage,
  PROTOCOL_VERSION,
  requests
} from '../protocol';
import { batch, EXP, snapshot, summary, trial } from './fixtures';

const ROOT = join(__dirname, '..', '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf-8');

describe('PROTOCOL_VERSION', () => {
  it("is the kernel bridge's version and the one docs/protocol.md specifies", () => {
    const wire = read('maggy_jupyter/comm_bridge/wire.py');
    const kernel = /^PROTOCOL_VERSION = (\d+)$/m.exec(wire);
    expect(kernel).not.toBeNull();
    expect(Number(kernel![1])).toBe(PROTOCOL_VERSION);
    const spec =
      /^## Kernel <-> frontend \(comm target `maggy`, version (\d+)\)$/m.exec(
        read('docs/protocol.md')
      );
    expect(spec).not.toBeNull();
    expect(Number(spec![1])).toBe(PROTOCOL_VERSION);
  });

  it('is what every request and the hello carry', () => {
    expect(HELLO.v).toBe(PROTOCOL_VERSION);
    expect(requests.list('r').v).toBe(PROTOCOL_VERSION);
    expect(requests.stopExperiment('r', EXP).v).toBe(PROTOCOL_VERSION);
  });
});

describe('parseKernelMessage', () => {
  it('accepts every message type of version 1', () => {
    expect(parseKernelMessage({ v: 1, type: 'hello', protocol: 1 })?.type).toBe(
      'hello'
    );
    expect(parseKernelMessage(snapshot(0, [trial(0)]))?.type).toBe(
      'experiment'
    );
    expect(parseKernelMessage(batch(1, { started: [trial(0)] }))?.type).toBe(
      'batch'
    );
    expect(parseKernelMessage(batch(2, { summary: summary() }))?.type).toBe(
      'batch'
    );
    const resumed = batch(1, {
      experiment_started: {
        name: 'unit',
        num_trials: 4,
        num_workers: 1,
        earlier_trials: [trial(0, { state: 'FINISHED', earlier: true })]
      }
    });
    expect(parseKernelMessage(resumed)?.type).toBe('batch');
    expect(parseKernelMessage({ v: 1, type: 'ack', ok: true })?.type).toBe(
      'ack'
    );
    expect(parseKernelMessage({ v: 1, type: 'error', reason: 'x' })?.type).toBe(
      'error'
    );
    expect(
      parseKernelMessage({
        v: 1,
        type: 'trial',
        experiment_id: EXP,
        trial: trial(1),
        seq: 0
      })
    ).not.toBeNull();
  });

  it.each([
    ['not an object', 'batch'],
    ['an array', [1, 2]],
    ['null', null],
    ['another version', { ...batch(1), v: 2 }],
    ['no version', { type: 'hello', protocol: 1 }],
    ['an unknown type', { v: 1, type: 'telemetry', anything: 1 }],
    ['a batch without seq', { v: 1, type: 'batch', experiment_id: EXP }],
    [
      'a batch with a bad trial',
      batch(1, { started: [{ trial_id: 'x' } as any] })
    ],
    [
      'a batch with a bad earlier trial',
      batch(1, {
        experiment_started: {
          name: 'unit',
          num_trials: 1,
          num_workers: 1,
          earlier_trials: [{ state: 'FINISHED' } as any]
        }
      })
    ],
    [
      'a batch with a bad summary',
      batch(1, { summary: { best: null } as any })
    ],
    [
      'a snapshot without trials',
      { v: 1, type: 'experiment', experiment: {}, seq: 0 }
    ],
    ['an ack without ok', { v: 1, type: 'ack' }]
  ])('drops %s', (_, data) => {
    expect(parseKernelMessage(data)).toBeNull();
  });
});

describe('request builders', () => {
  it('build stop requests exactly as docs/protocol.md spells them', () => {
    expect(requests.stopTrial('r1', EXP, 3)).toEqual({
      v: 1,
      type: 'stop_trial',
      request_id: 'r1',
      experiment_id: EXP,
      trial_id: 3
    });
    expect(requests.stopExperiment('r2', EXP)).toEqual({
      v: 1,
      type: 'stop_experiment',
      request_id: 'r2',
      experiment_id: EXP
    });
  });

  it('build the read requests', () => {
    expect(requests.list('r', 10)).toEqual({
      v: 1,
      type: 'list',
      request_id: 'r',
      limit: 10
    });
    expect(requests.list('r')).toEqual({ v: 1, type: 'list', request_id: 'r' });
    expect(requests.subscribe('r', EXP)).toEqual({
      v: 1,
      type: 'subscribe',
      request_id: 'r',
      experiment_id: EXP
    });
    expect(requests.getTrial('r', EXP, 2)).toEqual({
      v: 1,
      type: 'get_trial',
      request_id: 'r',
      experiment_id: EXP,
      trial_id: 2
    });
  });
});
