import { fuzzTests } from '../../../fuzz/runner.fixture.js';
import { BLOCK_TARGETS } from './block.fuzz.js';

fuzzTests(BLOCK_TARGETS);
