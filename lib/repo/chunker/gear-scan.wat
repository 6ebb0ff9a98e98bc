;; The FastCDC gear loop of fastcdc-core.mjs's scan(), in WebAssembly: the same arithmetic, about three
;; times the speed (no bounds checks on the bytes or the tables). Built into gear-scan.wasm by
;; `npm run build:wasm` (scripts/build-gear-scan.mjs); a unit test checks the two agree.
;;
;; Memory: the gear table at 0 (256 x i32), the table shifted left by one at 1024, the bytes to cut from
;; 4096 on. Indices passed in and returned are byte positions counted from 4096.
;;
;; scan(i, end, h, mask): continues hash h over bytes [i, end) and returns the position of the first byte
;; after which (h & mask) == 0, or -1 with the hash left in the `carry` global. Two bytes per step as in
;; FastCDC 2020: after the first byte of a pair the register holds 2h (table at 1024), tested against
;; mask << 1; exact because masks never use bit 31. Unrolled to two pairs per iteration.
(module
  (memory (export "memory") 1)
  (global $carry (export "carry") (mut i32) (i32.const 0))
  (func (export "scan") (param $i i32) (param $end i32) (param $h i32) (param $mask i32) (result i32)
    (local $maskLs i32)
    (local $end4 i32)
    (local.set $maskLs (i32.shl (local.get $mask) (i32.const 1)))
    (local.set $end4 (i32.sub (local.get $end) (i32.const 3)))
    (block $pairs_done
      (loop $pairs
        (br_if $pairs_done (i32.ge_s (local.get $i) (local.get $end4)))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 2))
          (i32.load offset=1024 (i32.shl (i32.load8_u offset=4096 (local.get $i)) (i32.const 2)))))
        (if (i32.eqz (i32.and (local.get $h) (local.get $maskLs))) (then (return (local.get $i))))
        (local.set $h (i32.add (local.get $h)
          (i32.load (i32.shl (i32.load8_u offset=4097 (local.get $i)) (i32.const 2)))))
        (if (i32.eqz (i32.and (local.get $h) (local.get $mask))) (then (return (i32.add (local.get $i) (i32.const 1)))))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 2))
          (i32.load offset=1024 (i32.shl (i32.load8_u offset=4098 (local.get $i)) (i32.const 2)))))
        (if (i32.eqz (i32.and (local.get $h) (local.get $maskLs))) (then (return (i32.add (local.get $i) (i32.const 2)))))
        (local.set $h (i32.add (local.get $h)
          (i32.load (i32.shl (i32.load8_u offset=4099 (local.get $i)) (i32.const 2)))))
        (if (i32.eqz (i32.and (local.get $h) (local.get $mask))) (then (return (i32.add (local.get $i) (i32.const 3)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $pairs)))
    (block $bytes_done
      (loop $bytes
        (br_if $bytes_done (i32.ge_s (local.get $i) (local.get $end)))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=4096 (local.get $i)) (i32.const 2)))))
        (if (i32.eqz (i32.and (local.get $h) (local.get $mask))) (then (return (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $bytes)))
    (global.set $carry (local.get $h))
    (i32.const -1)))
