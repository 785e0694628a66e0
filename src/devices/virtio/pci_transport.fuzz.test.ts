import { fuzzTests } from '../../fuzz/runner.fixture.js';
import { TRANSPORT_TARGETS } from './pci_transport.fuzz.js';

fuzzTests(TRANSPORT_TARGETS);
