import { fuzzTests } from '../../fuzz/runner.fixture.js';
import { SERIAL_TARGETS } from './serial8250.fuzz.js';

fuzzTests(SERIAL_TARGETS);
