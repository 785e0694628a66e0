import { fuzzTests } from '../fuzz/runner.fixture.js';
import { PCI_TARGETS } from './pci.fuzz.js';

fuzzTests(PCI_TARGETS);
