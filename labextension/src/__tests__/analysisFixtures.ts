import type { IAnalysis } from '../protocol';

/*
 * Payloads as `maggy.visualization.analysis_payload` returned them (version 1): 12 trials of a
 * function of x (and a little of act), one ERROR and one RUNNING among them; and a 3-trial
 * ablation. Regenerate with that function if its shape changes.
 */

export const OPTIMIZATION: IAnalysis = {
  version: 1,
  direction: 'max',
  trials: 12,
  params: {
    '0': { x: 0.134, lr: 0.03486, act: 'relu', n: 5 },
    '1': { x: 0.118, lr: 0.01918, act: 'tanh', n: 7 },
    '2': { x: 0.789, lr: 0.00019, act: 'relu', n: 7 },
    '3': { x: 0.433, lr: 0.01936, act: 'relu', n: 8 },
    '4': { x: 0.266, lr: 0.02544, act: 'relu', n: 6 },
    '5': { x: 0.031, lr: 0.00012, act: 'relu', n: 7 },
    '6': { x: 0.686, lr: 0.08075, act: 'relu', n: 4 },
    '8': { x: 0.231, lr: 0.00045, act: 'tanh', n: 5 },
    '9': { x: 0.927, lr: 0.00177, act: 'relu', n: 3 },
    '10': { x: 0.629, lr: 0.01482, act: 'tanh', n: 2 }
  },
  history: {
    x: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    trial_ids: [0, 1, 2, 3, 4, 5, 6, 8, 9, 10],
    values: [
      0.402, 0.45399999999999996, 2.367, 1.299, 0.798, 0.093,
      2.0580000000000003, 0.793, 2.781, 1.987
    ],
    states: [
      'FINISHED',
      'FINISHED',
      'FINISHED',
      'FINISHED',
      'FINISHED',
      'EARLY_STOPPED',
      'FINISHED',
      'FINISHED',
      'FINISHED',
      'FINISHED'
    ],
    best_x: [1, 2, 3, 9, 10],
    best_y: [0.402, 0.45399999999999996, 2.367, 2.781, 2.781],
    best_id: 9,
    total: 10
  },
  parallel: {
    axes: [
      {
        name: 'x',
        kind: 'numeric',
        ticks: [
          [0.0, '0'],
          [0.25, '0.25'],
          [0.5, '0.5'],
          [0.75, '0.75'],
          [1.0, '1']
        ]
      },
      {
        name: 'lr',
        kind: 'numeric',
        ticks: [
          [0.0, '0.0001'],
          [0.25, '0.02508'],
          [0.5, '0.05005'],
          [0.75, '0.07503'],
          [1.0, '0.1']
        ]
      },
      {
        name: 'act',
        kind: 'categorical',
        ticks: [
          [0.0, 'relu'],
          [1.0, 'tanh']
        ]
      },
      {
        name: 'n',
        kind: 'numeric',
        ticks: [
          [0.0, '1'],
          [0.25, '2.75'],
          [0.5, '4.5'],
          [0.75, '6.25'],
          [1.0, '8']
        ]
      }
    ],
    trial_ids: [0, 1, 2, 3, 4, 6, 8, 9, 10],
    rows: [
      [0.134, 0.3479, 0.0, 0.5714, 0.0],
      [0.118, 0.191, 1.0, 0.8571, 0.0219],
      [0.789, 0.0009, 0.0, 0.8571, 0.826],
      [0.433, 0.1928, 0.0, 1.0, 0.377],
      [0.266, 0.2537, 0.0, 0.7143, 0.1665],
      [0.686, 0.8073, 0.0, 0.4286, 0.6961],
      [0.231, 0.0035, 1.0, 0.5714, 0.1644],
      [0.927, 0.0167, 0.0, 0.2857, 1.0],
      [0.629, 0.1473, 1.0, 0.1429, 0.6662]
    ],
    metric: [
      0.402, 0.45399999999999996, 2.367, 1.299, 0.798, 2.0580000000000003,
      0.793, 2.781, 1.987
    ],
    metric_range: [0.402, 2.781],
    total: 9
  },
  importance: {
    importances: {
      x: 0.7770646477250198,
      n: 0.14792159249538445,
      lr: 0.043796356533575144,
      act: 0.031217403246020615
    },
    std: {
      x: 0.39053005276111824,
      n: 0.3453823861889574,
      lr: 0.16481943382410585,
      act: 0.1730631128107521
    },
    n_trials: 9,
    method: 'fANOVA main effects on a 32-tree histogram random forest (numpy)'
  },
  slices: [
    {
      name: 'x',
      kind: 'numeric',
      choices: null,
      x: [0.134, 0.118, 0.789, 0.433, 0.266, 0.686, 0.231, 0.927, 0.629],
      metric: [
        0.402, 0.45399999999999996, 2.367, 1.299, 0.798, 2.0580000000000003,
        0.793, 2.781, 1.987
      ],
      trial_ids: [0, 1, 2, 3, 4, 6, 8, 9, 10],
      total: 9
    },
    {
      name: 'lr',
      kind: 'numeric',
      choices: null,
      x: [
        0.03486, 0.01918, 0.00019, 0.01936, 0.02544, 0.08075, 0.00045, 0.00177,
        0.01482
      ],
      metric: [
        0.402, 0.45399999999999996, 2.367, 1.299, 0.798, 2.0580000000000003,
        0.793, 2.781, 1.987
      ],
      trial_ids: [0, 1, 2, 3, 4, 6, 8, 9, 10],
      total: 9
    },
    {
      name: 'act',
      kind: 'categorical',
      choices: ['relu', 'tanh'],
      x: [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0],
      metric: [
        0.402, 0.45399999999999996, 2.367, 1.299, 0.798, 2.0580000000000003,
        0.793, 2.781, 1.987
      ],
      trial_ids: [0, 1, 2, 3, 4, 6, 8, 9, 10],
      total: 9
    },
    {
      name: 'n',
      kind: 'numeric',
      choices: null,
      x: [5.0, 7.0, 7.0, 8.0, 6.0, 4.0, 5.0, 3.0, 2.0],
      metric: [
        0.402, 0.45399999999999996, 2.367, 1.299, 0.798, 2.0580000000000003,
        0.793, 2.781, 1.987
      ],
      trial_ids: [0, 1, 2, 3, 4, 6, 8, 9, 10],
      total: 9
    }
  ],
  ablation: null
};

export const ABLATION: IAnalysis = {
  version: 1,
  direction: 'max',
  trials: 3,
  params: {
    '0': { ablated: 'base' },
    '1': { ablated: 'feature:pclass' },
    '2': { ablated: 'layer:dense_1' }
  },
  history: {
    x: [1, 2, 3],
    trial_ids: [0, 1, 2],
    values: [0.8, 0.6, 0.85],
    states: ['FINISHED', 'FINISHED', 'FINISHED'],
    best_x: [1, 3],
    best_y: [0.8, 0.85],
    best_id: 2,
    total: 3
  },
  parallel: {
    axes: [
      {
        name: 'ablated',
        kind: 'categorical',
        ticks: [
          [0.0, 'base'],
          [0.5, 'feature:pclass'],
          [1.0, 'layer:dense_1']
        ]
      }
    ],
    trial_ids: [0, 1, 2],
    rows: [
      [0.0, 0.8],
      [0.5, 0.0],
      [1.0, 1.0]
    ],
    metric: [0.8, 0.6, 0.85],
    metric_range: [0.6, 0.85],
    total: 3
  },
  importance: {
    importances: { ablated: 0.0 },
    std: { ablated: 0.0 },
    n_trials: 3,
    method: 'fANOVA main effects on a 32-tree histogram random forest (numpy)'
  },
  slices: [
    {
      name: 'ablated',
      kind: 'categorical',
      choices: ['base', 'feature:pclass', 'layer:dense_1'],
      x: [0.0, 1.0, 2.0],
      metric: [0.8, 0.6, 0.85],
      trial_ids: [0, 1, 2],
      total: 3
    }
  ],
  ablation: {
    base_id: 0,
    base_val: 0.8,
    most_important: 'feature:pclass',
    bars: [
      {
        label: 'feature:pclass',
        kind: 'feature',
        component: 'pclass',
        trial_id: 1,
        metric: 0.6,
        delta: -0.20000000000000007,
        hurt: true
      },
      {
        label: 'layer:dense_1',
        kind: 'layer',
        component: 'dense_1',
        trial_id: 2,
        metric: 0.85,
        delta: 0.04999999999999993,
        hurt: false
      }
    ]
  }
};
