import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';

/**
 * The maggy-jupyter plugin. For now it only announces itself; the live trial
 * view and the `maggy` comm bridge will hang off this plugin.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: 'maggy-jupyter:plugin',
  description: 'Live view of maggy hyperparameter optimization experiments.',
  autoStart: true,
  activate: (app: JupyterFrontEnd): void => {
    console.log('maggy-jupyter: activated');
  }
};

const plugins: JupyterFrontEndPlugin<any>[] = [plugin];

export default plugins;
