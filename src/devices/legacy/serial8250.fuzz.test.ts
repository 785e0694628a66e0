import { fuzzTests } from '../../fuzz/testing.js';
import { SERIAL_TARGETS } from './serial8250.fuzz.js';

fuzzTests(SERIAL_TARGETS);
