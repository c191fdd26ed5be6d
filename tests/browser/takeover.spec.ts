import { takeoverScenarios } from '../scenarios/takeover.js';
import { runScenarios } from './runScenarios.js';

runScenarios('adopted by a client that already has a worker', takeoverScenarios);
