import { fuzzTests } from '../fuzz/testing.js';
import { LOADER_TARGETS } from './loader.fuzz.js';

fuzzTests(LOADER_TARGETS);
