from cunguan.custody.masking import mask_card, mask_id_card, mask_mobile, mask_name


def test_id_numbers_keep_first_3_and_last_4():
    assert mask_id_card("11010519900101123X") == "110***********123X"


def test_cards_keep_bin_and_last_4():
    assert mask_card("6222020000000000018") == "622202*********0018"
    assert mask_card("6222020000000018") == "622202******0018"


def test_mobiles_and_names():
    assert mask_mobile("13812345678") == "138****5678"
    assert mask_name("张三丰") == "张**"
    assert mask_name("张") == "*"


def test_short_and_empty_values_never_leak():
    assert mask_card("1234567890") == "**********"
    assert mask_id_card("1234567") == "*******"
    assert mask_id_card(None) == "" and mask_card("") == "" and mask_name(None) == ""
