import { fuzzTests } from '../../fuzz/runner.fixture.js';
import { QUEUE_ROUNDTRIP_TARGETS } from './queue_roundtrip.fuzz.js';

fuzzTests(QUEUE_ROUNDTRIP_TARGETS);
