import { fuzzTests } from '../../../fuzz/testing.js';
import { BLOCK_TARGETS } from './block.fuzz.js';

fuzzTests(BLOCK_TARGETS);
