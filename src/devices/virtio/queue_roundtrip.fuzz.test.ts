import { fuzzTests } from '../../fuzz/testing.js';
import { QUEUE_ROUNDTRIP_TARGETS } from './queue_roundtrip.fuzz.js';

fuzzTests(QUEUE_ROUNDTRIP_TARGETS);
