import { fuzzTests } from '../fuzz/testing.js';
import { PCI_TARGETS } from './pci.fuzz.js';

fuzzTests(PCI_TARGETS);
