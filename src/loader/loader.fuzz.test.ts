import { fuzzTests } from '../fuzz/runner.fixture.js';
import { LOADER_TARGETS } from './loader.fuzz.js';

fuzzTests(LOADER_TARGETS);
