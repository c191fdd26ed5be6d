import { containment } from './containment.js';
import type { ReliabilityGroup } from './env.js';
import { faults } from './faults.js';
import { input } from './input.js';
import { lifecycle } from './lifecycle.js';
import { review2 } from './review2.js';
import { security } from './security.js';

/**
 * The reliability suite: scenarios that try to break the add-on, written once and run in every
 * engine (tests/reliability/reliability.spec.ts for Chromium and Firefox, tests/webkit/
 * reliability.test.ts for WebKit), each followed by the leak audit.
 */
export const reliabilityGroups: ReliabilityGroup[] = [lifecycle, containment, input, faults, security, review2];
