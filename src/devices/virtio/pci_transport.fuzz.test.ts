import { fuzzTests } from '../../fuzz/testing.js';
import { TRANSPORT_TARGETS } from './pci_transport.fuzz.js';

fuzzTests(TRANSPORT_TARGETS);
