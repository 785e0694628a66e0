#include <stdio.h>
#include <stddef.h>
#include <linux/kvm.h>
#include <linux/if_tun.h>
#include <asm/termbits.h>
#include <sys/ioctl.h>
#define P(x) printf("  %s: 0x%lx,\n", #x, (unsigned long)(x))
#define O(s,f) printf("  %s_%s: %zu,\n", #s, #f, offsetof(struct s, f))
#define S(s) printf("  sizeof_%s: %zu,\n", #s, sizeof(struct s))
int main(){
P(KVM_GET_API_VERSION);P(KVM_CREATE_VM);P(KVM_CHECK_EXTENSION);P(KVM_GET_VCPU_MMAP_SIZE);P(KVM_GET_SUPPORTED_CPUID);P(KVM_GET_MSR_INDEX_LIST);
P(KVM_CREATE_VCPU);P(KVM_SET_USER_MEMORY_REGION);P(KVM_SET_TSS_ADDR);P(KVM_SET_IDENTITY_MAP_ADDR);P(KVM_CREATE_IRQCHIP);P(KVM_IRQ_LINE);
P(KVM_SET_GSI_ROUTING);P(KVM_IRQFD);P(KVM_CREATE_PIT2);P(KVM_IOEVENTFD);P(KVM_RUN);P(KVM_GET_REGS);P(KVM_SET_REGS);P(KVM_GET_SREGS);P(KVM_SET_SREGS);
P(KVM_SET_MSRS);P(KVM_GET_MSRS);P(KVM_SET_CPUID2);P(KVM_SET_FPU);P(KVM_GET_LAPIC);P(KVM_SET_LAPIC);P(KVM_SIGNAL_MSI);P(KVM_CREATE_DEVICE);P(KVM_SET_DEVICE_ATTR);
P(KVM_SET_ONE_REG);P(KVM_GET_ONE_REG);P(KVM_ENABLE_CAP);P(KVM_SET_SIGNAL_MASK);
P(TUNSETIFF);P(TUNSETOFFLOAD);P(TUNSETVNETHDRSZ);P(TUNGETIFF);P(TUNGETVNETHDRSZ);P(TCGETS);P(TCSETS);P(TCSETSW);P(TIOCGWINSZ);P(FIONBIO);P(FIONREAD);
P(KVM_CAP_IRQCHIP);P(KVM_CAP_HLT);P(KVM_CAP_USER_MEMORY);P(KVM_CAP_SET_TSS_ADDR);P(KVM_CAP_EXT_CPUID);P(KVM_CAP_IRQ_ROUTING);P(KVM_CAP_IRQFD);P(KVM_CAP_PIT2);P(KVM_CAP_IOEVENTFD);
P(KVM_CAP_SET_IDENTITY_MAP_ADDR);P(KVM_CAP_SIGNAL_MSI);P(KVM_CAP_IMMEDIATE_EXIT);P(KVM_CAP_NR_MEMSLOTS);P(KVM_CAP_ARM_PSCI_0_2);P(KVM_CAP_DEVICE_CTRL);P(KVM_CAP_MP_STATE);P(KVM_CAP_SYNC_MMU);P(KVM_CAP_PIT_STATE2);P(KVM_CAP_NR_VCPUS);P(KVM_CAP_MAX_VCPUS);
P(KVM_EXIT_UNKNOWN);P(KVM_EXIT_EXCEPTION);P(KVM_EXIT_IO);P(KVM_EXIT_HYPERCALL);P(KVM_EXIT_DEBUG);P(KVM_EXIT_HLT);P(KVM_EXIT_MMIO);P(KVM_EXIT_SHUTDOWN);P(KVM_EXIT_FAIL_ENTRY);P(KVM_EXIT_INTR);P(KVM_EXIT_INTERNAL_ERROR);P(KVM_EXIT_SYSTEM_EVENT);
P(KVM_SYSTEM_EVENT_SHUTDOWN);P(KVM_SYSTEM_EVENT_RESET);P(KVM_SYSTEM_EVENT_CRASH);
P(KVM_IRQFD_FLAG_DEASSIGN);P(KVM_IRQFD_FLAG_RESAMPLE);P(KVM_IOEVENTFD_FLAG_DATAMATCH);P(KVM_IOEVENTFD_FLAG_PIO);P(KVM_IOEVENTFD_FLAG_DEASSIGN);P(KVM_IRQ_ROUTING_IRQCHIP);P(KVM_IRQ_ROUTING_MSI);P(KVM_PIT_SPEAKER_DUMMY);
P(KVM_INTERNAL_ERROR_EMULATION);
O(kvm_run,exit_reason);O(kvm_run,immediate_exit);O(kvm_run,io);O(kvm_run,mmio);O(kvm_run,internal);O(kvm_run,system_event);O(kvm_run,fail_entry);
O(kvm_run,io.direction);O(kvm_run,io.size);O(kvm_run,io.port);O(kvm_run,io.count);O(kvm_run,io.data_offset);
O(kvm_run,mmio.phys_addr);O(kvm_run,mmio.data);O(kvm_run,mmio.len);O(kvm_run,mmio.is_write);O(kvm_run,internal.suberror);O(kvm_run,internal.ndata);O(kvm_run,internal.data);
O(kvm_run,system_event.type);O(kvm_run,system_event.ndata);O(kvm_run,system_event.data);O(kvm_run,fail_entry.hardware_entry_failure_reason);
S(kvm_regs);S(kvm_sregs);S(kvm_segment);S(kvm_dtable);S(kvm_fpu);S(kvm_msrs);S(kvm_msr_entry);S(kvm_cpuid2);S(kvm_cpuid_entry2);S(kvm_userspace_memory_region);S(kvm_irq_level);S(kvm_irqfd);S(kvm_ioeventfd);S(kvm_pit_config);S(kvm_irq_routing);S(kvm_irq_routing_entry);S(kvm_msi);S(kvm_lapic_state);S(kvm_create_device);S(kvm_device_attr);S(kvm_one_reg);
O(kvm_sregs,cs);O(kvm_sregs,ds);O(kvm_sregs,es);O(kvm_sregs,fs);O(kvm_sregs,gs);O(kvm_sregs,ss);O(kvm_sregs,tr);O(kvm_sregs,ldt);O(kvm_sregs,gdt);O(kvm_sregs,idt);O(kvm_sregs,cr0);O(kvm_sregs,cr2);O(kvm_sregs,cr3);O(kvm_sregs,cr4);O(kvm_sregs,cr8);O(kvm_sregs,efer);O(kvm_sregs,apic_base);O(kvm_sregs,interrupt_bitmap);
O(kvm_segment,base);O(kvm_segment,limit);O(kvm_segment,selector);O(kvm_segment,type);O(kvm_segment,present);O(kvm_segment,dpl);O(kvm_segment,db);O(kvm_segment,s);O(kvm_segment,l);O(kvm_segment,g);O(kvm_segment,avl);O(kvm_segment,unusable);
O(kvm_dtable,base);O(kvm_dtable,limit);
O(kvm_regs,rax);O(kvm_regs,rbx);O(kvm_regs,rcx);O(kvm_regs,rdx);O(kvm_regs,rsi);O(kvm_regs,rdi);O(kvm_regs,rsp);O(kvm_regs,rbp);O(kvm_regs,r8);O(kvm_regs,rip);O(kvm_regs,rflags);
O(kvm_fpu,fcw);O(kvm_fpu,mxcsr);
O(kvm_irq_routing_entry,gsi);O(kvm_irq_routing_entry,type);O(kvm_irq_routing_entry,flags);O(kvm_irq_routing_entry,u);
O(kvm_irqfd,fd);O(kvm_irqfd,gsi);O(kvm_irqfd,flags);O(kvm_irqfd,resamplefd);
O(kvm_ioeventfd,datamatch);O(kvm_ioeventfd,addr);O(kvm_ioeventfd,len);O(kvm_ioeventfd,fd);O(kvm_ioeventfd,flags);
O(kvm_cpuid_entry2,function);O(kvm_cpuid_entry2,index);O(kvm_cpuid_entry2,flags);O(kvm_cpuid_entry2,eax);O(kvm_cpuid_entry2,ebx);O(kvm_cpuid_entry2,ecx);O(kvm_cpuid_entry2,edx);
}
