import { fuzzTests } from '../../../fuzz/testing.js';
import { NET_TARGETS } from './net.fuzz.js';

fuzzTests(NET_TARGETS);
