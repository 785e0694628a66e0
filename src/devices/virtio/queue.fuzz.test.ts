import { fuzzTests } from '../../fuzz/runner.fixture.js';
import { QUEUE_TARGETS } from './queue.fuzz.js';

fuzzTests(QUEUE_TARGETS);
