import { fuzzTests } from '../../fuzz/testing.js';
import { QUEUE_TARGETS } from './queue.fuzz.js';

fuzzTests(QUEUE_TARGETS);
