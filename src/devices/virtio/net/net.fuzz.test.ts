import { fuzzTests } from '../../../fuzz/runner.fixture.js';
import { NET_TARGETS } from './net.fuzz.js';

fuzzTests(NET_TARGETS);
