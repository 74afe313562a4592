use super::field::MontyField;
use super::*;
use crypto_bigint::Uint;

/// The test curves and examples of GOST R 34.10-2012 (RFC 7091 §7, Appendix A).
const TEST_256: CurveParams = CurveParams {
    p: "8000000000000000000000000000000000000000000000000000000000000431",
    a: "0000000000000000000000000000000000000000000000000000000000000007",
    b: "5FBFF498AA938CE739B8E022FBAFEF40563F6E6A3472FC2A514C0CE9DAE23B7E",
    q: "8000000000000000000000000000000150FE8A1892976154C59CFC193ACCF5B3",
    gx: "0000000000000000000000000000000000000000000000000000000000000002",
    gy: "08E2A8A0E65147D4BD6316030E16D19C85C97F0A9CA267122B96ABBCEA7E8FC8",
};

const TEST_512: CurveParams = CurveParams {
    p: "4531ACD1FE0023C7550D267B6B2FEE80922B14B2FFB90F04D4EB7C09B5D2D15DF1D852741AF4704A0458047E80E4546D35B8336FAC224DD81664BBF528BE6373",
    a: "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000007",
    b: "1CFF0806A31116DA29D8CFA54E57EB748BC5F377E49400FDD788B649ECA1AC4361834013B2AD7322480A89CA58E0CF74BC9E540C2ADD6897FAD0A3084F302ADC",
    q: "4531ACD1FE0023C7550D267B6B2FEE80922B14B2FFB90F04D4EB7C09B5D2D15DA82F2D7ECB1DBAC719905C5EECC423F1D86E25EDBE23C595D644AAF187E6E6DF",
    gx: "24D19CC64572EE30F396BF6EBBFD7A6C5213B3B3D7057CC825F91093A68CD762FD60611262CD838DC6B60AA7EEE804E28BC849977FAC33B4B530F1B120248A9A",
    gy: "2BB312A43BD2CE6E0D020613C857ACDDCFBF061E91E5F2C3F32447C259F39B2C83AB156D77F1496BF7EB3351E1EE4E43DC1A18B91B24640B6DBB92CB1ADD371E",
};

fn h<const L: usize>(hex: &str) -> Uint<L> {
    let width = Uint::<L>::BYTES * 2;
    Uint::from_be_hex(&format!("{hex:0>width$}"))
}

#[test]
fn rfc7091_example_256() {
    let c = Curve::<L256, MontyField<L256>>::new(&TEST_256);
    let d = h("7A929ADE789BB9BE10ED359DD39A72C11B60961F49397EEE1D19CE9891EC3B28");
    let q = c.public_key(&d).unwrap();
    assert_eq!(q.x, h("7F2B49E270DB6D90D8595BEC458B50C58585BA1D4E9B788F6689DBD8E56FD80B"));
    assert_eq!(q.y, h("26F1B489D6701DD185C8413A977B3CBBAF64D1C593D26627DFFB101A87FF77DA"));
    let e = h("2DFBC1B372D89A1188C09C52E0EEC61FCE52032AB1022E8E67ECE6672B043EE5");
    let k = h("77105C9B20BCD3122823C8CF6FCC7B956DE33814E95B7FE64FED924594DCEAB3");
    let (r, s) = c.sign(&d, &e, &k).unwrap();
    assert_eq!(r, h("41AA28D2F1AB148280CD9ED56FEDA41974053554A42767B83AD043FD39DC0493"));
    assert_eq!(s, h("01456C64BA4642A1653C235A98A60249BCD6D3F746B631DF928014F6C5BF9C40"));
    assert!(c.verify(&q, &e, &r, &s));
    assert!(!c.verify(&q, &e, &s, &r));
    assert!(!c.verify(&q, &(e.wrapping_add(&Uint::ONE)), &r, &s));
}

#[test]
fn rfc7091_example_512() {
    let c = Curve::<L512, MontyField<L512>>::new(&TEST_512);
    let d = h(
        "0BA6048AADAE241BA40936D47756D7C93091A0E8514669700EE7508E508B102072E8123B2200A0563322DAD2827E2714A2636B7BFD18AADFC62967821FA18DD4",
    );
    let q = c.public_key(&d).unwrap();
    assert_eq!(
        q.x,
        h(
            "115DC5BC96760C7B48598D8AB9E740D4C4A85A65BE33C1815B5C320C854621DD5A515856D13314AF69BC5B924C8B4DDFF75C45415C1D9DD9DD33612CD530EFE1"
        )
    );
    assert_eq!(
        q.y,
        h(
            "37C7C90CD40B0F5621DC3AC1B751CFA0E2634FA0503B3D52639F5D7FB72AFD61EA199441D943FFE7F0C70A2759A3CDB84C114E1F9339FDF27F35ECA93677BEEC"
        )
    );
    let e = h(
        "3754F3CFACC9E0615C4F4A7C4D8DAB531B09B6F9C170C533A71D147035B0C5917184EE536593F4414339976C647C5D5A407ADEDB1D560C4FC6777D2972075B8C",
    );
    let k = h(
        "0359E7F4B1410FEACC570456C6801496946312120B39D019D455986E364F365886748ED7A44B3E794434006011842286212273A6D14CF70EA3AF71BB1AE679F1",
    );
    let (r, s) = c.sign(&d, &e, &k).unwrap();
    assert_eq!(
        r,
        h(
            "2F86FA60A081091A23DD795E1E3C689EE512A3C82EE0DCC2643C78EEA8FCACD35492558486B20F1C9EC197C90699850260C93BCBCD9C5C3317E19344E173AE36"
        )
    );
    assert_eq!(
        s,
        h(
            "1081B394696FFE8E6585E7A9362D26B6325F56778AADBC081C0BFBE933D52FF5823CE288E8C4F362526080DF7F70CE406A6EEB1F56919CB92A9853BDE73E5B4A"
        )
    );
    assert!(c.verify(&q, &e, &r, &s));
}

#[test]
fn production_curves_have_their_generator_in_the_prime_order_subgroup() {
    for params in [&params::CRYPTOPRO_A, &params::TC26_256_A] {
        let c = Curve::<L256>::new(params);
        let g = Affine { x: h(params.gx), y: h(params.gy) };
        assert!(c.is_valid_public_key(&g), "{}", params.gy);
    }
    let c = Curve::<L512>::new(&params::TC26_512_A);
    let g = Affine { x: h(params::TC26_512_A.gx), y: h(params::TC26_512_A.gy) };
    assert!(c.is_valid_public_key(&g));
    assert!(!c.is_valid_public_key(&Affine { x: g.x, y: g.y.wrapping_add(&Uint::ONE) }));
}

#[test]
fn kalkan_byte_convention_round_trips_on_every_curve() {
    for curve in [GostCurve::CryptoProA, GostCurve::Tc26_256A, GostCurve::Tc26_512A] {
        let d: Vec<u8> = (1..=curve.size() as u8).collect();
        let public = curve.public_key(&d).unwrap();
        let digest = vec![0xA5; curve.size()];
        let sig = curve.sign(&d, &digest).unwrap();
        assert_eq!(sig.len(), 2 * curve.size());
        assert!(curve.verify(&public, &digest, &sig), "{curve:?}");
        let mut flipped = sig.clone();
        flipped[3] ^= 1;
        assert!(!curve.verify(&public, &digest, &flipped), "{curve:?}");
        let mut other = digest.clone();
        other[0] ^= 1;
        assert!(!curve.verify(&public, &other, &sig), "{curve:?}");
        // Two signatures of the same message differ (random, hedged k).
        assert_ne!(curve.sign(&d, &digest).unwrap(), sig);
    }
}

#[test]
fn bad_private_keys_are_refused() {
    assert_eq!(GostCurve::Tc26_512A.sign(&[0; 64], &[1; 64]), Err(GostError::BadPrivateKey));
    assert_eq!(GostCurve::CryptoProA.sign(&[0xFF; 32], &[1; 32]), Err(GostError::BadPrivateKey));
    assert_eq!(GostCurve::CryptoProA.sign(&[1; 33], &[1; 32]), Err(GostError::BadPrivateKey));
}

/// The production curves' special-form arithmetic against the generic Montgomery one:
/// the same public keys, and signatures made with one verify with the other.
fn fields_agree<const L: usize>(params: &CurveParams) {
    let special = Curve::<L>::new(params);
    let generic = Curve::<L, MontyField<L>>::new(params);
    let q = *special.order();
    let mut scalars =
        vec![Uint::<L>::ONE, Uint::from_u8(2), q.wrapping_sub(&Uint::ONE), q.wrapping_sub(&Uint::from_u8(2))];
    for _ in 0..8 {
        let mut bytes = vec![0u8; Uint::<L>::BYTES];
        getrandom::fill(&mut bytes).unwrap();
        let k = special.reduce(&Uint::from_le_slice(&bytes));
        if bool::from(k.is_nonzero()) {
            scalars.push(k);
        }
    }
    let e = special.reduce(&Uint::from_be_hex(&"5A".repeat(Uint::<L>::BYTES)));
    for d in &scalars {
        let public = special.public_key(d).unwrap();
        assert_eq!(Some(public), generic.public_key(d), "d = {d}");
        for k in scalars.iter().rev().take(3) {
            let Some((r, s)) = special.sign(d, &e, k) else { continue };
            assert_eq!(Some((r, s)), generic.sign(d, &e, k));
            assert!(generic.verify(&public, &e, &r, &s) && special.verify(&public, &e, &r, &s));
            assert!(!special.verify(&public, &e, &s, &r) || r == s);
        }
    }
}

#[test]
fn special_form_and_generic_field_arithmetic_give_the_same_signatures() {
    fields_agree::<L256>(&params::CRYPTOPRO_A);
    fields_agree::<L256>(&params::TC26_256_A);
    fields_agree::<L512>(&params::TC26_512_A);
}
